"""Cases, what happened in them, and the times a customer was asked for data.

``cases`` holds one row per case with its current state and counts (kept for the inbox, so a
list never replays activity). ``case_activity`` is the case's own timeline: each contact,
request for data, transfer, resolution, status change and note, in the customer's time; the
state is recomputed from it whenever it changes (:func:`cxm.cases.replay.replay_case`), so an
event that arrives late lands in its place. ``data_requests`` records every time a customer was
asked for details, with the fields the profile already held: the "asked again" signal, kept
whether or not the request belongs to a case.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from cxm.store.metadata import BigId, UTCDateTime, metadata

cases = Table(
    "cases",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # The case's reference: the one customers and source systems quote (CASE-2026-00042, a
    # helpdesk ticket id), or cxm's own (C-000042) when nobody gave one.
    Column("ref", String(120), nullable=False),
    Column("profile_id", String(40), nullable=False),
    Column("title", String(300), nullable=False),
    Column("status", String(16), nullable=False),  # open, pending, resolved, closed
    Column("priority", String(10), nullable=False),  # low, normal, high, urgent
    Column("department", String(100), nullable=True),  # who holds it now
    Column("channel", String(32), nullable=True),  # where it was opened
    Column("touchpoint", String(100), nullable=True),  # the touchpoint of its first contact
    Column("topic_id", Integer, nullable=True),  # the text topic of what the customer said
    Column("origin", String(16), nullable=False),  # events, api, import
    Column("opened_at", UTCDateTime, nullable=False),
    Column("last_activity_at", UTCDateTime, nullable=False),
    Column("first_response_at", UTCDateTime, nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("response_due_at", UTCDateTime, nullable=True),
    Column("resolve_due_at", UTCDateTime, nullable=True),
    Column("contacts", Integer, nullable=False, default=0),
    Column("channels", Integer, nullable=False, default=0),
    Column("handoffs", Integer, nullable=False, default=0),
    Column("asked_again", Integer, nullable=False, default=0),
    Column("reopened", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("uq_cases_ref", "ref", unique=True),
    Index("ix_cases_profile", "profile_id", "last_activity_at"),
    Index("ix_cases_status_activity", "status", "last_activity_at"),
)

case_activity = Table(
    "case_activity",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("case_id", BigInteger, ForeignKey("cases.id"), nullable=False),
    # contact, data_request, response, transfer, resolution, reopen, status, update, note
    Column("kind", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("seq", BigInteger, nullable=True),  # the event it came from, if any
    Column("channel", String(32), nullable=True),
    Column("touchpoint", String(100), nullable=True),
    Column("department", String(100), nullable=True),
    Column("event", String(200), nullable=True),
    Column("actor", String(100), nullable=True),  # who did it, for actions taken in cxm
    Column("detail", Text, nullable=False),  # JSON: status, fields, from/to, note, agent …
    Index("ix_case_activity_case_at", "case_id", "at"),
    # An event is one activity of one case: building twice adds nothing.
    Index("uq_case_activity_seq", "seq", unique=True),
)

data_requests = Table(
    "data_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("seq", BigInteger, nullable=False),
    Column("profile_id", String(40), nullable=False),
    Column("case_id", BigInteger, nullable=True),
    Column("at", UTCDateTime, nullable=False),
    Column("channel", String(32), nullable=True),
    Column("touchpoint", String(100), nullable=True),
    Column("department", String(100), nullable=True),
    Column("fields", Text, nullable=False),  # JSON list: what was asked
    Column("known_fields", Text, nullable=False),  # JSON list: what the profile already held
    # JSON list: asked although known, or asked already earlier in the same case
    Column("repeated_fields", Text, nullable=False),
    Index("uq_data_requests_seq", "seq", unique=True),
    Index("ix_data_requests_at", "at"),
    Index("ix_data_requests_case", "case_id"),
)
