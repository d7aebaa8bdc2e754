"""case priority: risk raises it (cases.priority, cases.priority_reason)

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (with a default for the existing rows): no table rebuild on SQLite.
    op.add_column(
        "cases",
        sa.Column("priority", sa.String(length=8), server_default="normal", nullable=False),
    )
    op.add_column("cases", sa.Column("priority_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:  # SQLite drops columns by rebuilding
        batch.drop_column("priority_reason")
        batch.drop_column("priority")
