"""Journey maps, versioned: every accepted map is kept as the YAML text it was written in."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from cxm.store.metadata import UTCDateTime, metadata

journey_maps = Table(
    "journey_maps",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("source", Text, nullable=False),  # the YAML exactly as given
    Column("created_at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("note", Text, nullable=True),
)
