"""enterprises and the users who act for them

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import civicloop.core.db  # UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enterprises",
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_representative", sa.String(length=64), nullable=True),
        sa.Column("industry", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("created_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_code"], ["regions.code"], name=op.f("fk_enterprises_grid_code_regions")
        ),
        sa.PrimaryKeyConstraint("credit_code", name=op.f("pk_enterprises")),
    )
    op.create_table(
        "enterprise_users",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("bound_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["credit_code"],
            ["enterprises.credit_code"],
            name=op.f("fk_enterprise_users_credit_code_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_enterprise_users_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_enterprise_users")),
    )
    with op.batch_alter_table("enterprise_users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enterprise_users_credit_code"), ["credit_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("enterprise_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprise_users_credit_code"))
    op.drop_table("enterprise_users")
    op.drop_table("enterprises")
