"""discovery: rules, alerts, permits, emergency mode

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civicloop.core.db import JSONType, UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discovery_rule_states",
        sa.Column("rule_id", sa.String(length=80), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("pending_since", UTCDateTime(), nullable=True),
        sa.Column("raised_at", UTCDateTime(), nullable=True),
        sa.Column("cleared_at", UTCDateTime(), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("last_at", UTCDateTime(), nullable=True),
        sa.Column("last_seen_at", UTCDateTime(), nullable=True),
        sa.Column("hits", JSONType, nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "subject", name=op.f("pk_discovery_rule_states")),
    )
    op.create_table(
        "discovery_alerts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=240), nullable=False),
        sa.Column("rule_id", sa.String(length=80), nullable=False),
        sa.Column("element_code", sa.String(length=8), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("evidence", JSONType, nullable=True),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("cleared_at", UTCDateTime(), nullable=True),
        sa.Column("close_suggested_at", UTCDateTime(), nullable=True),
        sa.Column("repeat_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_discovery_alerts_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discovery_alerts")),
    )
    op.create_index(op.f("ix_discovery_alerts_case_id"), "discovery_alerts", ["case_id"])
    op.create_index(
        "ix_discovery_alerts_dedupe_key_status", "discovery_alerts", ["dedupe_key", "status"]
    )
    op.create_table(
        "discovery_permits",
        sa.Column("permit_no", sa.String(length=64), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("company_credit_code", sa.String(length=18), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("route", JSONType, nullable=False),
        sa.Column("corridor_m", sa.Float(), nullable=False),
        sa.Column("window_start", sa.String(length=5), nullable=False),
        sa.Column("window_end", sa.String(length=5), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=True),
        sa.Column("valid_to", UTCDateTime(), nullable=True),
        sa.Column("disposal_sites", JSONType, nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("permit_no", name=op.f("pk_discovery_permits")),
    )
    op.create_index(op.f("ix_discovery_permits_plate"), "discovery_permits", ["plate"])
    op.create_table(
        "discovery_emergency_modes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_code", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("hazard", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("deadline_factor", sa.Float(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("ended_by", sa.String(length=64), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discovery_emergency_modes")),
    )
    op.create_index(
        op.f("ix_discovery_emergency_modes_ended_at"), "discovery_emergency_modes", ["ended_at"]
    )
    op.create_table(
        "discovery_emergency_cases",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("mode_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tightened", JSONType, nullable=False),
        sa.Column("filed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_discovery_emergency_cases_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["mode_id"],
            ["discovery_emergency_modes.id"],
            name=op.f("fk_discovery_emergency_cases_mode_id_discovery_emergency_modes"),
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_discovery_emergency_cases")),
    )
    op.create_index(
        op.f("ix_discovery_emergency_cases_mode_id"), "discovery_emergency_cases", ["mode_id"]
    )
    op.create_table(
        "discovery_residents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("meter_device_id", sa.String(length=128), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("lives_alone", sa.Boolean(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discovery_residents")),
    )
    op.create_index(op.f("ix_discovery_residents_room_id"), "discovery_residents", ["room_id"])
    op.create_index(
        op.f("ix_discovery_residents_meter_device_id"), "discovery_residents", ["meter_device_id"]
    )


def downgrade() -> None:
    op.drop_table("discovery_residents")
    op.drop_table("discovery_emergency_cases")
    op.drop_table("discovery_emergency_modes")
    op.drop_table("discovery_permits")
    op.drop_table("discovery_alerts")
    op.drop_table("discovery_rule_states")
