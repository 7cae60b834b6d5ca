"""Segments: one row per named segment, its checked definition as JSON."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from cxm.store.metadata import UTCDateTime, metadata

segments = Table(
    "segments",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("definition", Text, nullable=False),  # JSON, as checked
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),  # who saved it last
)
