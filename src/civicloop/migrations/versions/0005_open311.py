"""Open311 GeoReport v2: service request ids and tokens

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import civicloop.core.db  # UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "open311_requests",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("service_request_id", sa.String(length=32), nullable=False),
        sa.Column("service_code", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("account_id", sa.String(length=128), nullable=True),
        sa.Column("media_url", sa.String(length=500), nullable=True),
        sa.Column("address_string", sa.String(length=300), nullable=True),
        sa.Column("attributes", _json(), nullable=False),
        sa.Column("requested_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_open311_requests_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_open311_requests")),
    )
    with op.batch_alter_table("open311_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open311_requests_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_open311_requests_service_request_id"),
            ["service_request_id"],
            unique=False,
        )

    op.create_table(
        "open311_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column(
            "ledger_seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("client_update_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reporter_name", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("media_url", sa.String(length=500), nullable=True),
        sa.Column("updated_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_open311_updates_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_updates")),
    )
    with op.batch_alter_table("open311_updates", schema=None) as batch_op:
        batch_op.create_index("ix_open311_updates_case_id", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("open311_updates")
    op.drop_table("open311_requests")
