"""Tables of free-text intake: the district's gazetteer and the reports awaiting confirmation.

``gazetteer_entries`` is the address book (地名地址库) the geocoder reads: roads (with their line,
so a house number can be placed along them), compounds (小区/苑/花园/新村) and landmarks (schools,
hospitals, metro stations, markets, parks …), each with a WGS84 point and the grid and street it
lies in. Names are unique: one name, one place, so a name in a citizen's text is unambiguous.

``intake_reports`` keeps every free-text report exactly as it came in, with the platform's
proposal (element suggestions and location, each with a confidence) and the operator's decision.
A report row is written before the reporter is answered, even when classification or geocoding
failed, so nothing said on the phone is lost.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text

from civicloop.core.db import JSONType, UTCDateTime, metadata

gazetteer_entries = Table(
    "gazetteer_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    # road | compound | school | hospital | metro_station | market | park | landmark
    Column("kind", String(16), nullable=False),
    Column("aliases", JSONType, nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("grid_code", String(32), nullable=True, index=True),
    Column("street_code", String(32), nullable=True),
    # roads only: [[lon, lat], …] from house number 1 to ``number_max``
    Column("line", JSONType, nullable=True),
    Column("number_max", Integer, nullable=True),
    Column("source", String(16), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

intake_reports = Table(
    "intake_reports",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("contact_name", String(64), nullable=True),
    Column("contact_phone", String(32), nullable=True),
    Column("reporter_id", String(64), nullable=False),
    Column("reporter_role", String(32), nullable=False),
    Column("given_lon", Float, nullable=True),
    Column("given_lat", Float, nullable=True),
    Column("proposal", JSONType, nullable=False),
    # proposed | triage | confirmed | rejected
    Column("status", String(16), nullable=False),
    # territorial path of the proposed grid ("" when unplaced): scopes the queue per operator
    Column("region_path", String(160), nullable=False),
    Column("case_id", String(32), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("reason", Text, nullable=True),
    # photos sent with the report, already checked and stored (core.photos): sha256, type,
    # size, filename each; they become evidence notes of the case on confirmation
    Column("photos", JSONType, nullable=True),
)
Index("ix_intake_reports_status_created_at", intake_reports.c.status, intake_reports.c.created_at)
