"""automation: rules, firings, action jobs, in-app messages, segment-entry state

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cxm.store.metadata

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = cxm.store.metadata.UTCDateTime(timezone=True)
    big_id = cxm.store.metadata.BigId
    op.create_table(
        "automation_rules",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_automation_rules")),
    )
    op.create_table(
        "automation_firings",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("trigger_key", sa.String(length=200), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("at", utc, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("deferred_to", utc, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_firings")),
    )
    op.create_index(
        "uq_automation_firings_rule_trigger",
        "automation_firings",
        ["rule", "trigger_key"],
        unique=True,
    )
    op.create_index(
        "ix_automation_firings_rule_profile", "automation_firings", ["rule", "profile_id", "at"]
    )
    op.create_index("ix_automation_firings_at", "automation_firings", ["at"])
    op.create_table(
        "automation_jobs",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("firing_id", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("action_index", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", utc, nullable=False),
        sa.Column("lease_until", utc, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_jobs")),
    )
    op.create_index("ix_automation_jobs_status_due", "automation_jobs", ["status", "due_at"])
    op.create_index("ix_automation_jobs_firing", "automation_jobs", ["firing_id"])
    op.create_table(
        "automation_messages",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("seen_at", utc, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_messages")),
    )
    op.create_index("uq_automation_messages_job", "automation_messages", ["job_id"], unique=True)
    op.create_index(
        "ix_automation_messages_profile", "automation_messages", ["profile_id", "created_at"]
    )
    op.create_table(
        "automation_segment_state",
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("since", utc, nullable=False),
        sa.PrimaryKeyConstraint("rule", "profile_id", name=op.f("pk_automation_segment_state")),
    )


def downgrade() -> None:
    op.drop_table("automation_segment_state")
    op.drop_index("ix_automation_messages_profile", table_name="automation_messages")
    op.drop_index("uq_automation_messages_job", table_name="automation_messages")
    op.drop_table("automation_messages")
    op.drop_index("ix_automation_jobs_firing", table_name="automation_jobs")
    op.drop_index("ix_automation_jobs_status_due", table_name="automation_jobs")
    op.drop_table("automation_jobs")
    op.drop_index("ix_automation_firings_at", table_name="automation_firings")
    op.drop_index("ix_automation_firings_rule_profile", table_name="automation_firings")
    op.drop_index("uq_automation_firings_rule_trigger", table_name="automation_firings")
    op.drop_table("automation_firings")
    op.drop_table("automation_rules")
