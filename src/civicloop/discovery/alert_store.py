"""Tables of the rules, alerts, permits and emergency-mode part of discovery.

* ``discovery_rule_states`` — each rule's memory per subject (sustained timers, hysteresis,
  last value and last-seen time, count windows), so a restart forgets nothing;
* ``discovery_alerts`` — an alert and the case it filed, keyed by ``dedupe_key`` (rule + device
  or place): while that row is ``open`` and its case is open, new raises are suppressed;
* ``discovery_permits`` — muck-truck transport permits (plate, company, route corridor, time
  window, disposal sites);
* ``discovery_emergency_modes`` / ``discovery_emergency_cases`` — emergency mode (战平一体)
  periods and the cases filed under them, whose deadlines are tightened;
* ``discovery_residents`` — a minimal residents view (room, water meter, elder living alone)
  for the elder detector, designed to be replaced by the registry context's service once it
  offers "registered elders living alone at a room" (see ``detectors.elders_by_meter``).

Migration: ``migrations/versions/0009_discovery_rules.py`` (kept identical; tests/test_schema).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from civicloop.core.db import JSONType, UTCDateTime, metadata

rule_states = Table(
    "discovery_rule_states",
    metadata,
    Column("rule_id", String(80), primary_key=True),
    Column("subject", String(128), primary_key=True),
    Column("is_active", Boolean(), nullable=False),
    Column("pending_since", UTCDateTime(), nullable=True),
    Column("raised_at", UTCDateTime(), nullable=True),
    Column("cleared_at", UTCDateTime(), nullable=True),
    Column("last_value", Float(), nullable=True),
    Column("last_at", UTCDateTime(), nullable=True),
    Column("last_seen_at", UTCDateTime(), nullable=True),
    Column("hits", JSONType, nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
)

alerts = Table(
    "discovery_alerts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("dedupe_key", String(240), nullable=False),
    Column("rule_id", String(80), nullable=False),
    Column("element_code", String(8), nullable=False),
    Column("device_id", String(128), nullable=True),
    Column("grid_code", String(32), nullable=True),
    Column("lon", Float(), nullable=True),
    Column("lat", Float(), nullable=True),
    Column("summary", Text(), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("evidence", JSONType, nullable=True),
    Column("case_id", String(32), ForeignKey("cases.id"), nullable=True, index=True),
    Column("status", String(16), nullable=False),  # open | cleared | closed | unplaced
    Column("raised_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("cleared_at", UTCDateTime(), nullable=True),
    Column("close_suggested_at", UTCDateTime(), nullable=True),
    Column("repeat_count", Integer(), nullable=False),
    Index("ix_discovery_alerts_dedupe_key_status", "dedupe_key", "status"),
)

permits = Table(
    "discovery_permits",
    metadata,
    Column("permit_no", String(64), primary_key=True),
    Column("plate", String(16), nullable=False, index=True),
    Column("company_credit_code", String(18), nullable=True),
    Column("company_name", String(200), nullable=True),
    Column("route", JSONType, nullable=False),  # GeoJSON LineString, WGS84
    Column("corridor_m", Float(), nullable=False),
    Column("window_start", String(5), nullable=False),  # local HH:MM
    Column("window_end", String(5), nullable=False),
    Column("valid_from", UTCDateTime(), nullable=True),
    Column("valid_to", UTCDateTime(), nullable=True),
    Column("disposal_sites", JSONType, nullable=False),  # [{name, lon, lat, radius_m}]
    Column("imported_at", UTCDateTime(), nullable=False),
)

emergency_modes = Table(
    "discovery_emergency_modes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("scope_kind", String(16), nullable=False),  # district | street | scene
    Column("scope_code", String(64), nullable=False),
    Column("level", String(16), nullable=False),  # blue < yellow < orange < red
    Column("hazard", String(32), nullable=False),
    Column("source", String(16), nullable=False),  # weather | operator
    Column("reason", Text(), nullable=False),
    Column("deadline_factor", Float(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("started_by", String(64), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True, index=True),
    Column("ended_by", String(64), nullable=True),
    Column("end_reason", Text(), nullable=True),
)

emergency_cases = Table(
    "discovery_emergency_cases",
    metadata,
    Column("case_id", String(32), ForeignKey("cases.id"), primary_key=True),
    Column(
        "mode_id",
        String(32),
        ForeignKey("discovery_emergency_modes.id"),
        nullable=False,
        index=True,
    ),
    Column("kind", String(16), nullable=False),  # task | alert
    Column("tightened", JSONType, nullable=False),  # step@started_at keys already tightened
    Column("filed_at", UTCDateTime(), nullable=False),
)

residents = Table(
    "discovery_residents",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("room_id", String(64), nullable=False, index=True),
    Column("meter_device_id", String(128), nullable=True, index=True),
    Column("name", String(64), nullable=False),
    Column("birth_year", Integer(), nullable=True),
    Column("lives_alone", Boolean(), nullable=False),
    Column("lon", Float(), nullable=True),
    Column("lat", Float(), nullable=True),
    Column("grid_code", String(32), nullable=True),
)
