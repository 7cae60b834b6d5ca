"""users and API tokens may be held to one department (agents and department viewers)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("users", "api_tokens"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("department", sa.String(length=100), nullable=True))


def downgrade() -> None:
    for table in ("users", "api_tokens"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("department")
