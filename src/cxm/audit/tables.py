"""The audit log: who changed what, when and why (append-only)."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from cxm.store.metadata import BigId, UTCDateTime, metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),  # "token:admin", "cli:anna", "system:…"
    Column("action", String(100), nullable=False),  # "source.created", "profiles.merged", …
    Column("subject", String(300), nullable=True),
    Column("details", Text, nullable=False),  # JSON
    Index("ix_audit_log_action_at", "action", "at"),
)
