"""Sources and the append-only event log."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from cxm.store.metadata import BigId, UTCDateTime, metadata

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("channel", String(32), nullable=False),
    Column("label", String(200), nullable=True),
    # Only a hash of the write key is kept; the key itself is shown once.
    Column("write_key_hash", String(64), nullable=False, unique=True),
    Column("write_key_prefix", String(12), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

events = Table(
    "events",
    metadata,
    # The monotonic sequence number: derived views read "everything after seq N".
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("type", String(16), nullable=False),
    Column("event", String(200), nullable=True),
    Column("user_id", String(200), nullable=True),
    Column("anonymous_id", String(200), nullable=True),
    Column("channel", String(32), nullable=False),
    # The customer's own clock (Segment `timestamp`, else `originalTimestamp`, else received).
    Column("timestamp", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    # The payload exactly as accepted (JSON text), for rebuilds and data-subject exports.
    Column("payload", Text, nullable=False),
    Index("uq_events_source_message", "source_id", "message_id", unique=True),
)
