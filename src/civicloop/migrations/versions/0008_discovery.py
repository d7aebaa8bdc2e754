"""discovery: devices, readings, quarantine

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import civicloop.core.db  # UTCDateTime, JSONType

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(length=200), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("owner_department", sa.String(length=32), nullable=True),
        sa.Column("report_interval_s", sa.Integer(), nullable=True),
        sa.Column("attrs", civicloop.core.db.JSONType, nullable=False),
        sa.Column("created_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_devices")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_entity_type"), ["entity_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_grid_code"), ["grid_code"], unique=False)

    op.create_table(
        "readings",
        sa.Column("id", _RowId, autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=200), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("observed_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attrs", civicloop.core.db.JSONType, nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("notification_id", sa.String(length=200), nullable=True),
        sa.Column("received_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readings")),
        sa.UniqueConstraint(
            "device_id", "observed_at", name=op.f("uq_readings_device_id_observed_at")
        ),
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_index("ix_readings_observed_at", ["observed_at"], unique=False)

    op.create_table(
        "readings_hourly",
        sa.Column("device_id", sa.String(length=200), nullable=False),
        sa.Column("attr", sa.String(length=64), nullable=False),
        sa.Column("hour_start", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("min", sa.Float(), nullable=True),
        sa.Column("max", sa.Float(), nullable=True),
        sa.Column("sum", sa.Float(), nullable=True),
        sa.Column("numeric_count", sa.Integer(), nullable=False),
        sa.Column("last", civicloop.core.db.JSONType, nullable=True),
        sa.Column("last_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "attr", "hour_start", name=op.f("pk_readings_hourly")),
    )

    op.create_table(
        "readings_quarantine",
        sa.Column("id", _RowId, autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=200), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("observed_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attrs", civicloop.core.db.JSONType, nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("notification_id", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("received_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reprocessed_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readings_quarantine")),
        sa.UniqueConstraint(
            "device_id", "observed_at", name=op.f("uq_readings_quarantine_device_id_observed_at")
        ),
    )


def downgrade() -> None:
    op.drop_table("readings_quarantine")
    op.drop_table("readings_hourly")
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index("ix_readings_observed_at")
    op.drop_table("readings")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_grid_code"))
        batch_op.drop_index(batch_op.f("ix_devices_entity_type"))
    op.drop_table("devices")
