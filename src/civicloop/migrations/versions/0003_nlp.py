"""the text classifier: operator corrections

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import civicloop.core.db  # UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "classifier_corrections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("predicted_label", sa.String(length=64), nullable=True),
        sa.Column("chosen_label", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifier_corrections")),
    )
    with op.batch_alter_table("classifier_corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_classifier_corrections_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("classifier_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_classifier_corrections_at"))
    op.drop_table("classifier_corrections")
