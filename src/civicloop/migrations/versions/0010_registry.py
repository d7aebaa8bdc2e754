"""registry: population, legal entities, buildings and rooms; history, corrections, alerts

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import civicloop.core.db  # UTCDateTime, JSONType

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("room_id", sa.String(length=40), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("residents_limit", sa.Integer(), nullable=False),
        sa.Column(
            "signals",
            civicloop.core.db.JSONType,
            nullable=False,
        ),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("raised_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_alerts")),
    )
    with op.batch_alter_table("registry_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_alerts_room_id"), ["room_id"], unique=False)

    op.create_table(
        "registry_corrections",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=40), nullable=False),
        sa.Column(
            "changes",
            civicloop.core.db.JSONType,
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("region_path", sa.String(length=200), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_corrections")),
    )
    with op.batch_alter_table("registry_corrections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_corrections_status"), ["status"], unique=False
        )

    op.create_table(
        "registry_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=40), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column(
            "before",
            civicloop.core.db.JSONType,
            nullable=True,
        ),
        sa.Column(
            "after",
            civicloop.core.db.JSONType,
            nullable=True,
        ),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_history")),
    )
    with op.batch_alter_table("registry_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_history_kind_record_id", ["kind", "record_id"], unique=False
        )

    op.create_table(
        "registry_buildings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("postal_key", sa.String(length=120), nullable=True),
        sa.Column("stem_key", sa.String(length=120), nullable=True),
        sa.Column("compound_key", sa.String(length=120), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("road", sa.String(length=64), nullable=True),
        sa.Column("lane", sa.Integer(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("compound", sa.String(length=64), nullable=True),
        sa.Column("building", sa.Integer(), nullable=True),
        sa.Column("grid_code", sa.String(length=32), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("updated_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_code"], ["regions.code"], name=op.f("fk_registry_buildings_grid_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_buildings")),
        sa.UniqueConstraint("compound_key", name=op.f("uq_registry_buildings_compound_key")),
        sa.UniqueConstraint("postal_key", name=op.f("uq_registry_buildings_postal_key")),
    )
    with op.batch_alter_table("registry_buildings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_buildings_grid_code"), ["grid_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_buildings_stem_key"), ["stem_key"], unique=False
        )

    op.create_table(
        "registry_entities",
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_representative", sa.String(length=64), nullable=True),
        sa.Column("industry", sa.String(length=64), nullable=True),
        sa.Column("registered_address", sa.String(length=300), nullable=True),
        sa.Column("operating_address", sa.String(length=300), nullable=True),
        sa.Column("building_id", sa.String(length=40), nullable=True),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("licence_status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["registry_buildings.id"],
            name=op.f("fk_registry_entities_building_id_registry_buildings"),
        ),
        sa.PrimaryKeyConstraint("credit_code", name=op.f("pk_registry_entities")),
    )
    with op.batch_alter_table("registry_entities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_entities_grid_code"), ["grid_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_registry_entities_name"), ["name"], unique=False)

    op.create_table(
        "registry_rooms",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("building_id", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.Integer(), nullable=True),
        sa.Column("room", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("use", sa.String(length=16), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("residents_limit", sa.Integer(), nullable=True),
        sa.Column("observed_residents", sa.Integer(), nullable=True),
        sa.Column("observed_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("grid_code", sa.String(length=32), nullable=False),
        sa.Column("updated_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["registry_buildings.id"],
            name=op.f("fk_registry_rooms_building_id_registry_buildings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_rooms")),
    )
    with op.batch_alter_table("registry_rooms", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_rooms_building_id_unit_room", ["building_id", "unit", "room"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_rooms_grid_code"), ["grid_code"], unique=False
        )

    op.create_table(
        "registry_people",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("household", sa.String(length=40), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("room_id", sa.String(length=40), nullable=True),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("is_living_alone", sa.Boolean(), nullable=False),
        sa.Column("has_disability", sa.Boolean(), nullable=False),
        sa.Column("is_key_care", sa.Boolean(), nullable=False),
        sa.Column("updated_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["registry_rooms.id"],
            name=op.f("fk_registry_people_room_id_registry_rooms"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_people")),
        sa.UniqueConstraint("id_number", name=op.f("uq_registry_people_id_number")),
    )
    with op.batch_alter_table("registry_people", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_people_grid_code"), ["grid_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_registry_people_room_id"), ["room_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("registry_people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_people_room_id"))
        batch_op.drop_index(batch_op.f("ix_registry_people_grid_code"))

    op.drop_table("registry_people")
    with op.batch_alter_table("registry_rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_rooms_grid_code"))
        batch_op.drop_index("ix_registry_rooms_building_id_unit_room")

    op.drop_table("registry_rooms")
    with op.batch_alter_table("registry_entities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_entities_name"))
        batch_op.drop_index(batch_op.f("ix_registry_entities_grid_code"))

    op.drop_table("registry_entities")
    with op.batch_alter_table("registry_buildings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_buildings_stem_key"))
        batch_op.drop_index(batch_op.f("ix_registry_buildings_grid_code"))

    op.drop_table("registry_buildings")
    with op.batch_alter_table("registry_history", schema=None) as batch_op:
        batch_op.drop_index("ix_registry_history_kind_record_id")

    op.drop_table("registry_history")
    with op.batch_alter_table("registry_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_corrections_status"))

    op.drop_table("registry_corrections")
    with op.batch_alter_table("registry_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_alerts_room_id"))

    op.drop_table("registry_alerts")
