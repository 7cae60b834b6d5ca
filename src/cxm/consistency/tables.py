"""The registry of canonical facts: one row per fact, its checked definition as JSON."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from cxm.store.metadata import UTCDateTime, metadata

facts = Table(
    "facts",
    metadata,
    Column("id", String(100), primary_key=True),  # price.roaming-eu
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # price, fee, term, hours, policy
    Column("department", String(100), nullable=True),  # who owns the truth
    Column("definition", Text, nullable=False),  # JSON: values, observe, statements
    Column("actor", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
