"""Automation's tables: the rules, each firing (or suppression) for a customer, the action jobs
of each firing (the outbox the dispatcher works through), in-app messages, and which
customers each segment-entry rule has seen in its segment.

A firing is unique per rule and trigger (``trigger_key``: the event's seq, or the schedule's
tick and the customer), so a rule fires exactly once per trigger however often it is
evaluated. Jobs are written in the same transaction as their firing, so a firing never lacks
its actions; a job is done, failed (to retry), dead (in the dead-letter list) or cancelled.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from cxm.store.metadata import BigId, UTCDateTime, metadata

automation_rules = Table(
    "automation_rules",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("definition", Text, nullable=False),  # JSON, as written
    Column("enabled", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
)

automation_firings = Table(
    "automation_firings",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("rule", String(100), nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("trigger_key", String(200), nullable=False),
    Column("profile_id", String(40), nullable=False),
    Column("seq", BigInteger, nullable=True),  # the triggering event
    Column("at", UTCDateTime, nullable=False),  # when it fired (or was suppressed)
    Column("status", String(16), nullable=False),  # fired, suppressed
    Column("reason", String(200), nullable=True),  # why suppressed: cap, consent, …
    Column("deferred_to", UTCDateTime, nullable=True),  # quiet hours moved its actions here
    Index("uq_automation_firings_rule_trigger", "rule", "trigger_key", unique=True),
    Index("ix_automation_firings_rule_profile", "rule", "profile_id", "at"),
    Index("ix_automation_firings_at", "at"),
)

automation_jobs = Table(
    "automation_jobs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("firing_id", BigInteger, nullable=False),
    Column("rule", String(100), nullable=False),
    Column("profile_id", String(40), nullable=False),
    Column("action_index", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    # pending, running, done, failed (will retry), dead (gave up), cancelled (consent gone)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),  # a dispatcher holds it until then
    Column("last_error", Text, nullable=True),
    Column("context", Text, nullable=False),  # JSON: the trigger's event, for templates
    Column("result", Text, nullable=True),  # JSON: what the action did (message id, case ref)
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_automation_jobs_status_due", "status", "due_at"),
    Index("ix_automation_jobs_firing", "firing_id"),
)

automation_messages = Table(
    "automation_messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("profile_id", String(40), nullable=False),
    Column("rule", String(100), nullable=False),
    Column("job_id", BigInteger, nullable=False),
    Column("channel", String(16), nullable=False),  # app, web
    Column("language", String(8), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=True),
    Index("uq_automation_messages_job", "job_id", unique=True),
    Index("ix_automation_messages_profile", "profile_id", "created_at"),
)

automation_segment_state = Table(
    "automation_segment_state",
    metadata,
    Column("rule", String(100), primary_key=True),
    Column("profile_id", String(40), primary_key=True),
    Column("since", UTCDateTime, nullable=False),
)
