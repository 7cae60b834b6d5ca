"""text analytics: analysed texts, cached vectors, topics

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 23:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cxm.store.metadata

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = cxm.store.metadata.UTCDateTime(timezone=True)
    op.create_table(
        "text_items",
        sa.Column("id", cxm.store.metadata.BigId, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.BigInteger(), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("occurred_at", utc, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("event", sa.String(length=200), nullable=True),
        sa.Column("touchpoint", sa.String(length=100), nullable=True),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("language_confidence", sa.Float(), nullable=False),
        sa.Column("sentiment", sa.String(length=16), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("sentiment_confidence", sa.Float(), nullable=True),
        sa.Column("sentiment_model", sa.String(length=8), nullable=True),
        sa.Column("emotion", sa.String(length=16), nullable=True),
        sa.Column("emotion_score", sa.Float(), nullable=True),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("topic_similarity", sa.Float(), nullable=True),
        sa.Column("pii", sa.String(length=100), nullable=False),
        sa.Column("flag", sa.String(length=32), nullable=True),
        sa.Column("model_version", sa.String(length=200), nullable=False),
        sa.Column("enriched_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_items")),
    )
    op.create_index(
        "uq_text_items_source_ref_field", "text_items", ["source", "ref", "field"], unique=True
    )
    op.create_index("ix_text_items_topic_occurred", "text_items", ["topic_id", "occurred_at"])
    op.create_index("ix_text_items_occurred", "text_items", ["occurred_at"])
    op.create_index("ix_text_items_text_hash", "text_items", ["text_hash"])
    op.create_table(
        "text_vectors",
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("encoder", sa.String(length=16), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("text_hash", "encoder", name=op.f("pk_text_vectors")),
    )
    op.create_table(
        "text_topics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("keyphrases", sa.Text(), nullable=False),
        sa.Column("centroid", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_topics")),
    )


def downgrade() -> None:
    op.drop_table("text_topics")
    op.drop_table("text_vectors")
    op.drop_index("ix_text_items_text_hash", table_name="text_items")
    op.drop_index("ix_text_items_occurred", table_name="text_items")
    op.drop_index("ix_text_items_topic_occurred", table_name="text_items")
    op.drop_index("uq_text_items_source_ref_field", table_name="text_items")
    op.drop_table("text_items")
