"""insights: customers' churn and experience scores, and the anomaly watch's alerts

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cxm.store.metadata

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = cxm.store.metadata.UTCDateTime(timezone=True)
    big_id = cxm.store.metadata.BigId
    op.create_table(
        "churn_scores",
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("band", sa.String(length=8), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("scored_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_churn_scores")),
    )
    op.create_index("ix_churn_scores_band_risk", "churn_scores", ["band", "risk"])
    op.create_table(
        "experience_scores",
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("band", sa.String(length=10), nullable=False),
        sa.Column("p_detractor", sa.Float(), nullable=False),
        sa.Column("p_passive", sa.Float(), nullable=False),
        sa.Column("p_promoter", sa.Float(), nullable=False),
        sa.Column("scored_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_experience_scores")),
    )
    op.create_table(
        "churn_risk_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("segment", sa.String(length=100), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "segment", name=op.f("pk_churn_risk_days")),
    )
    op.create_table(
        "insight_alerts",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("series", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("observed", sa.Float(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("departments", sa.Text(), nullable=False),
        sa.Column("raised_at", utc, nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_alerts")),
    )
    op.create_index(
        "uq_insight_alerts_series_day", "insight_alerts", ["series", "day"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_insight_alerts_series_day", table_name="insight_alerts")
    op.drop_table("insight_alerts")
    op.drop_table("experience_scores")
    op.drop_table("churn_risk_days")
    op.drop_index("ix_churn_scores_band_risk", table_name="churn_scores")
    op.drop_table("churn_scores")
