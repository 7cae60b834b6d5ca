"""audit hash chain; privacy requests and erasure tombstones

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 05:30:00
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

import cxm.store.metadata

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = cxm.store.metadata.UTCDateTime(timezone=True)
    big_id = cxm.store.metadata.BigId
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("seal", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("redacted", sa.String(length=200), nullable=True))
    op.create_index("uq_audit_log_seal", "audit_log", ["seal"], unique=True)
    # Entries written before the chain get their digest now; the worker seals them.
    conn = op.get_bind()
    log = sa.table("audit_log", sa.column("id"), sa.column("subject"), sa.column("details"),
                   sa.column("digest"))  # fmt: skip
    for row in conn.execute(sa.select(log.c.id, log.c.subject, log.c.details)).all():
        digest = hashlib.sha256(orjson.dumps([row.subject, row.details])).hexdigest()
        conn.execute(sa.update(log).where(log.c.id == row.id).values(digest=digest))
    op.create_table(
        "privacy_requests",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", utc, nullable=False),
        sa.Column("completed_at", utc, nullable=True),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_table(
        "erasure_tombstones",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("erased_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_erasure_tombstones")),
    )


def downgrade() -> None:
    op.drop_table("erasure_tombstones")
    op.drop_table("privacy_requests")
    op.drop_index("uq_audit_log_seal", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        for column in ("redacted", "hash", "prev_hash", "seal", "digest"):
            batch.drop_column(column)
