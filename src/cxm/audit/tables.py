"""The audit log: who changed what, when and why (append-only, hash-chained)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, Text

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
    # The hash chain (cxm.audit.chain): the digest of subject and details, written with the
    # entry; the position, previous hash and own hash, written when the entry is sealed; why
    # an erasure redacted the subject and details, if it did.
    Column("digest", String(64), nullable=True),
    Column("seal", BigInteger, nullable=True),
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    Column("redacted", String(200), nullable=True),
    Index("ix_audit_log_action_at", "action", "at"),
    Index("uq_audit_log_seal", "seal", unique=True),
)
