"""Surveys: definitions as versions, invitations (each with its own signed token) and responses.

A definition is never changed in place: every save is a new version, and an invitation keeps the
version it was sent with, so an invitation sent before an edit can still be answered as sent.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table, Text

from cxm.store.metadata import BigId, UTCDateTime, metadata

survey_versions = Table(
    "survey_versions",
    metadata,
    Column("survey_id", String(100), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("audience", String(16), nullable=False),
    Column("definition", Text, nullable=False),  # JSON, as checked
    Column("created_at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
)

survey_invitations = Table(
    "survey_invitations",
    metadata,
    # Random and unguessable; the token a respondent holds is this id signed with the secret.
    Column("id", String(40), primary_key=True),
    Column("survey_id", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("profile_id", String(40), nullable=True),
    Column("department", String(100), nullable=True),
    Column("touchpoint", String(100), nullable=True),
    Column("case_ref", String(200), nullable=True),
    Column("language", String(16), nullable=False),
    # sent, answered, or suppressed (refused by a rule such as fatigue; ``reason`` says why).
    # Expiry is not a stored status: a sent invitation past ``expires_at`` reads as expired.
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("remind_at", UTCDateTime, nullable=True),
    Column("reminded_at", UTCDateTime, nullable=True),
    Column("answered_at", UTCDateTime, nullable=True),
    Column("actor", String(100), nullable=False),
    # The event whose touchpoint triggered the invitation (null when invited by hand or to a
    # segment); unique per survey, so one event never invites twice, whatever reruns.
    Column("event_seq", BigInteger, nullable=True),
    # Null until a reminder is due and recorded; then "pending": waiting for a channel to
    # deliver it (e-mail comes with automation), which will set "delivered" or "failed".
    Column("reminder_delivery", String(16), nullable=True),
    Index("ix_survey_invitations_profile_created", "profile_id", "created_at"),
    Index("ix_survey_invitations_survey_status", "survey_id", "status"),
    Index("ix_survey_invitations_status_remind", "status", "remind_at"),
    Index("uq_survey_invitations_survey_event", "survey_id", "event_seq", unique=True),
)

survey_responses = Table(
    "survey_responses",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("survey_id", String(100), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    # Null for anonymous surveys, whose responses keep no link back to the person.
    Column("invitation_id", String(40), nullable=True, unique=True),
    Column("profile_id", String(40), nullable=True, index=True),
    Column("department", String(100), nullable=True),
    Column("touchpoint", String(100), nullable=True),
    Column("case_ref", String(200), nullable=True),
    Column("language", String(16), nullable=False),
    Column("score", Float, nullable=True),  # the headline question's answer
    Column("comment", Text, nullable=True),
    Column("answers", Text, nullable=False),  # JSON: question id -> answer
    Column("answered_at", UTCDateTime, nullable=False),
)
