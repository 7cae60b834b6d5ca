"""cases: cases, their activity, and requests for data

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 02:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cxm.store.metadata

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = cxm.store.metadata.UTCDateTime(timezone=True)
    big_id = cxm.store.metadata.BigId
    op.create_table(
        "cases",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(length=120), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("touchpoint", sa.String(length=100), nullable=True),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("opened_at", utc, nullable=False),
        sa.Column("last_activity_at", utc, nullable=False),
        sa.Column("first_response_at", utc, nullable=True),
        sa.Column("resolved_at", utc, nullable=True),
        sa.Column("response_due_at", utc, nullable=True),
        sa.Column("resolve_due_at", utc, nullable=True),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("channels", sa.Integer(), nullable=False),
        sa.Column("handoffs", sa.Integer(), nullable=False),
        sa.Column("asked_again", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index("uq_cases_ref", "cases", ["ref"], unique=True)
    op.create_index("ix_cases_profile", "cases", ["profile_id", "last_activity_at"])
    op.create_index("ix_cases_status_activity", "cases", ["status", "last_activity_at"])
    op.create_table(
        "case_activity",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("touchpoint", sa.String(length=100), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("event", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_activity_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_activity")),
    )
    op.create_index("ix_case_activity_case_at", "case_activity", ["case_id", "at"])
    op.create_index("uq_case_activity_seq", "case_activity", ["seq"], unique=True)
    op.create_table(
        "data_requests",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("at", utc, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("touchpoint", sa.String(length=100), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("known_fields", sa.Text(), nullable=False),
        sa.Column("repeated_fields", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_requests")),
    )
    op.create_index("uq_data_requests_seq", "data_requests", ["seq"], unique=True)
    op.create_index("ix_data_requests_at", "data_requests", ["at"])
    op.create_index("ix_data_requests_case", "data_requests", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_data_requests_case", table_name="data_requests")
    op.drop_index("ix_data_requests_at", table_name="data_requests")
    op.drop_index("uq_data_requests_seq", table_name="data_requests")
    op.drop_table("data_requests")
    op.drop_index("uq_case_activity_seq", table_name="case_activity")
    op.drop_index("ix_case_activity_case_at", table_name="case_activity")
    op.drop_table("case_activity")
    op.drop_index("ix_cases_status_activity", table_name="cases")
    op.drop_index("ix_cases_profile", table_name="cases")
    op.drop_index("uq_cases_ref", table_name="cases")
    op.drop_table("cases")
