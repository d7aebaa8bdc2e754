"""Tables of the registry context, on the shared ``metadata`` (see ``civicloop.schema``).

* ``registry_buildings``: one row per building, found by its address keys (``address.py``):
  the postal key (road, lane, number) and the compound key (compound, building), each unique.
* ``registry_rooms``: a flat, shop or office in a building, with its use, area and the number of
  residents it may hold; ``observed_residents`` is what a site visit found (a correction).
* ``registry_people``: residents, keyed by a record id; the ID number (GB 11643) is unique.
* ``registry_entities``: legal entities keyed by the unified social credit code (GB 32100). The
  enterprise context keeps the enterprises that *use the platform*; this is the master register.
* ``registry_history``: before/after of every change to an existing record (imports that change
  a record, applied corrections). A new record's creation is summarised in the import's ledger
  entry instead of 100,000 history rows.
* ``registry_corrections``: facts found on site, proposed → approved (applied) / rejected.
* ``registry_alerts``: what the group-renting detector raised, so it raises a room once.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from civicloop.core.db import JSONType, UTCDateTime, metadata

__all__ = ["metadata"]

buildings = Table(
    "registry_buildings",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("postal_key", String(120), nullable=True, unique=True),
    Column("stem_key", String(120), nullable=True, index=True),
    Column("compound_key", String(120), nullable=True, unique=True),
    Column("address", String(300), nullable=False),
    Column("road", String(64), nullable=True),
    Column("lane", Integer, nullable=True),
    Column("number", Integer, nullable=True),
    Column("compound", String(64), nullable=True),
    Column("building", Integer, nullable=True),
    Column("grid_code", String(32), ForeignKey("regions.code"), nullable=False, index=True),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

rooms = Table(
    "registry_rooms",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("building_id", String(40), ForeignKey("registry_buildings.id"), nullable=False),
    Column("unit", Integer, nullable=True),
    Column("room", Integer, nullable=True),
    Column("address", String(300), nullable=False),
    Column("use", String(16), nullable=False),
    Column("area_m2", Float, nullable=False),
    Column("residents_limit", Integer, nullable=True),
    Column("observed_residents", Integer, nullable=True),
    Column("observed_at", UTCDateTime(), nullable=True),
    Column("grid_code", String(32), nullable=False, index=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_registry_rooms_building_id_unit_room", "building_id", "unit", "room"),
)

people = Table(
    "registry_people",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("id_number", String(18), nullable=False, unique=True),
    Column("name", String(64), nullable=False),
    Column("sex", String(1), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("household", String(40), nullable=True),
    Column("address", String(300), nullable=False),
    Column("room_id", String(40), ForeignKey("registry_rooms.id"), nullable=True, index=True),
    Column("grid_code", String(32), nullable=True, index=True),
    Column("phone", String(20), nullable=True),
    Column("is_living_alone", Boolean, nullable=False, default=False),
    Column("has_disability", Boolean, nullable=False, default=False),
    Column("is_key_care", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

entities = Table(
    "registry_entities",
    metadata,
    Column("credit_code", String(18), primary_key=True),
    Column("name", String(200), nullable=False, index=True),
    Column("legal_representative", String(64), nullable=True),
    Column("industry", String(64), nullable=True),
    Column("registered_address", String(300), nullable=True),
    Column("operating_address", String(300), nullable=True),
    Column("building_id", String(40), ForeignKey("registry_buildings.id"), nullable=True),
    Column("grid_code", String(32), nullable=True, index=True),
    Column("licence_status", String(16), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

history = Table(
    "registry_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("record_id", String(40), nullable=False),
    Column("change", String(16), nullable=False),  # updated | corrected
    Column("before", JSONType, nullable=True),
    Column("after", JSONType, nullable=True),
    Column("source", String(64), nullable=False),  # import:<id> | correction:<id>
    Column("actor_id", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_registry_history_kind_record_id", "kind", "record_id"),
)

corrections = Table(
    "registry_corrections",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("record_id", String(40), nullable=False),
    Column("changes", JSONType, nullable=False),
    Column("note", Text, nullable=True),
    Column("status", String(16), nullable=False, index=True),
    Column("region_path", String(200), nullable=False),
    Column("proposed_by", String(64), nullable=False),
    Column("proposed_at", UTCDateTime(), nullable=False),
    Column("reviewed_by", String(64), nullable=True),
    Column("reviewed_at", UTCDateTime(), nullable=True),
    Column("review_note", Text, nullable=True),
)

alerts = Table(
    "registry_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("room_id", String(40), nullable=False, index=True),
    Column("residents", Integer, nullable=False),
    Column("residents_limit", Integer, nullable=False),
    Column("signals", JSONType, nullable=False),
    Column("case_id", String(32), nullable=True),
    Column("raised_at", UTCDateTime(), nullable=False),
)
