"""Derived tables of the customer memory: which profile each event belongs to, and traits."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, ForeignKey, Index, Integer, String, Table, Text

from cxm.store.metadata import BigId, UTCDateTime, metadata

profile_events = Table(
    "profile_events",
    metadata,
    Column("seq", BigInteger, ForeignKey("events.seq"), primary_key=True),
    Column("profile_id", String(40), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("channel", String(32), nullable=False),
    Index("ix_profile_events_profile_at", "profile_id", "at"),
)

trait_observations = Table(
    "trait_observations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("profile_id", String(40), nullable=False),
    Column("key", String(200), nullable=False),
    Column("value", Text, nullable=False),  # JSON
    Column("source_id", Integer, nullable=True),
    Column("channel", String(32), nullable=True),
    Column("seq", BigInteger, nullable=False),
    Column("observed_at", UTCDateTime, nullable=False),
    Index("ix_trait_observations_profile_key", "profile_id", "key"),
)

# Interactions per day and channel, kept by the projector so the overview never scans the log.
channel_activity = Table(
    "channel_activity",
    metadata,
    Column("day", Date, primary_key=True),
    Column("channel", String(32), primary_key=True),
    Column("events", BigInteger, nullable=False),
)

# Profiles whose events moved to another profile (merge, unmerge, rebuild: profile_id "*"), so
# copies keyed by profile (the lake) can re-read exactly those customers.
profile_changes = Table(
    "profile_changes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("profile_id", String(40), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
