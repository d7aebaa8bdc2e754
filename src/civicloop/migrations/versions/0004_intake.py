"""free-text intake: the gazetteer and the triage queue

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import civicloop.core.db  # UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _json() -> Any:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "gazetteer_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("aliases", _json(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("street_code", sa.String(length=32), nullable=True),
        sa.Column("line", _json(), nullable=True),
        sa.Column("number_max", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gazetteer_entries")),
        sa.UniqueConstraint("name", name=op.f("uq_gazetteer_entries_name")),
    )
    with op.batch_alter_table("gazetteer_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gazetteer_entries_grid_code"), ["grid_code"], unique=False
        )

    op.create_table(
        "intake_reports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("contact_name", sa.String(length=64), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("reporter_id", sa.String(length=64), nullable=False),
        sa.Column("reporter_role", sa.String(length=32), nullable=False),
        sa.Column("given_lon", sa.Float(), nullable=True),
        sa.Column("given_lat", sa.Float(), nullable=True),
        sa.Column("proposal", _json(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("region_path", sa.String(length=160), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("photos", _json(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_reports")),
    )
    with op.batch_alter_table("intake_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_intake_reports_status_created_at", ["status", "created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("intake_reports")
    op.drop_table("gazetteer_entries")
