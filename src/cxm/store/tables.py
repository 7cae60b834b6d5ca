"""Tables the store itself owns: workspace key/values and derivation cursors."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table, Text

from cxm.store.metadata import UTCDateTime, metadata

workspace_meta = Table(
    "workspace_meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# How far each derived view (profiles, lake, text enrichment...) has read the event log.
cursors = Table(
    "cursors",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=True),
)
