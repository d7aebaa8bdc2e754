"""Case tables and the queries the case service needs.

``cases`` carries the current state (with a ``version`` for optimistic concurrency) and the
denormalised facts lists filter on; ``case_steps`` is the SLA clock, one row per timed step;
``case_assignments`` says which departments are on a case (lead / assist), which is what a
department's view filters by.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from civicloop.core.db import JSONType, UTCDateTime, metadata
from civicloop.core.rawsql import Raw

cases = Table(
    "cases",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("tracking_code", String(16), nullable=False, unique=True),
    Column("element_code", String(16), nullable=False),
    Column("scene_code", String(32), nullable=False, index=True),
    Column("catalogue_version", String(32), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("loop_level", String(8), nullable=False),
    Column("is_urgent", Boolean, nullable=False, default=False),
    Column("filing_condition", String(32), nullable=True),
    Column("closure_type", String(16), nullable=True),
    Column("grid_code", String(32), ForeignKey("regions.code"), nullable=False),
    Column("region_path", String(160), nullable=False, index=True),
    Column("street_code", String(32), nullable=False, index=True),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("address", String(300), nullable=True),
    Column("reporter_id", String(64), nullable=True, index=True),
    Column("reporter_name", String(64), nullable=True),
    Column("reporter_phone", String(32), nullable=True),
    Column("lead_department", String(64), nullable=True, index=True),
    # department code → "lead"/"assist": a copy of case_assignments kept on the row so the hot
    # path authorises without a second query; case_assignments serves the department filters.
    Column("assigned", JSONType, nullable=True),
    Column("master_case_id", String(32), ForeignKey("cases.id"), nullable=True),
    Column("rework_count", Integer, nullable=False, default=0),
    Column("return_count", Integer, nullable=False, default=0),
    Column("reopen_count", Integer, nullable=False, default=0),
    Column("extension_count", Integer, nullable=False, default=0),
    Column("is_overdue", Boolean, nullable=False, default=False),
    Column("priority", String(8), nullable=False, server_default="normal"),
    Column("priority_reason", String(200), nullable=True),
    Column("verification_passed", Boolean, nullable=True),
    Column("satisfaction", String(32), nullable=True),
    Column("handle_due_at", UTCDateTime(), nullable=True),
    Column("reported_at", UTCDateTime(), nullable=False, index=True),
    Column("filed_at", UTCDateTime(), nullable=True),
    Column("dispatched_at", UTCDateTime(), nullable=True),
    Column("closed_at", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("version", Integer, nullable=False, default=1),
)
# Element then latitude: serves "cases of this element" lists and the duplicate check's
# bounding box (a range on latitude) without a separate index. Latitude alone: the public
# nearby search. Both are written once, when a case is reported (positions never change).
Index("ix_cases_element_code_lat", cases.c.element_code, cases.c.lat)
Index("ix_cases_lat", cases.c.lat)

case_assignments = Table(
    "case_assignments",
    metadata,
    Column("case_id", String(32), ForeignKey("cases.id"), primary_key=True),
    Column("department_code", String(64), ForeignKey("departments.code"), primary_key=True),
    Column("role", String(8), nullable=False),
    Column("assigned_at", UTCDateTime(), nullable=False),
)
Index("ix_case_assignments_department_code", case_assignments.c.department_code)

case_steps = Table(
    "case_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("cases.id"), nullable=False, index=True),
    Column("step", String(16), nullable=False),
    Column("deadline_class", String(32), nullable=False),
    Column("is_urgent", Boolean, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime(), nullable=True),
    Column("completed_by", String(64), nullable=True),
    Column("overdue_at", UTCDateTime(), nullable=True),
)
# The sweeper's query: open, not yet flagged, due before now.
Index(
    "ix_case_steps_open_due",
    case_steps.c.completed_at,
    case_steps.c.overdue_at,
    case_steps.c.due_at,
)

case_notes = Table(
    "case_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # note | evidence | feedback | return | verify …
    Column("text", Text, nullable=False, default=""),
    Column("attachment", JSONType, nullable=True),  # {filename, content_type, size, sha256}
    Column("actor_id", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

extension_requests = Table(
    "extension_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("cases.id"), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("extra_seconds", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # pending | approved | rejected
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
)

supervision_orders = Table(
    "supervision_orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("cases.id"), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("source", String(16), nullable=False),  # sweeper | manual
    Column("loop_level", String(8), nullable=False),
    Column("raised_by", String(64), nullable=False),
    Column("raised_at", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),  # open | closed
    Column("closed_at", UTCDateTime(), nullable=True),
)

# More people reporting one problem (重复上报): a report the duplicate check found certain is not
# a new case; its reporter is attached to the open master case here, with a tracking code of
# their own, and follows the master to the end.
case_reporters = Table(
    "case_reporters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", String(32), ForeignKey("cases.id"), nullable=False, index=True),
    Column("reporter_id", String(64), nullable=True, index=True),
    Column("reporter_name", String(64), nullable=True),
    Column("reporter_phone", String(32), nullable=True),
    Column("channel", String(16), nullable=False),
    Column("tracking_code", String(16), nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("distance_m", Float, nullable=True),
    Column("attached_at", UTCDateTime, nullable=False),
)

case_counters = Table(
    "case_counters",
    metadata,
    Column("day", String(8), primary_key=True),
    Column("value", Integer, nullable=False),
)


DATETIME_COLUMNS = (
    "handle_due_at",
    "reported_at",
    "filed_at",
    "dispatched_at",
    "closed_at",
    "updated_at",
)


def load_case(raw: Raw, case_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    """The whole case row as a dict with aware datetimes and parsed JSON (hot path)."""
    row = raw.one(
        "SELECT * FROM cases WHERE id = :id"
        + ("" if raw.is_sqlite or not for_update else " FOR UPDATE"),
        {"id": case_id},
    )
    if row is None:
        return None
    for col in DATETIME_COLUMNS:
        row[col] = raw.parse_ts(row[col])
    row["assigned"] = raw.parse_js(row["assigned"]) or {}
    for col in ("is_urgent", "is_overdue"):
        row[col] = bool(row[col])
    if row["verification_passed"] is not None:
        row["verification_passed"] = bool(row["verification_passed"])
    return row


_UPDATE_SQL: dict[tuple[str, ...], str] = {}


def update_case(raw: Raw, case_id: str, version: int, values: dict[str, Any]) -> bool:
    """Conditional update: succeeds only if nobody changed the case since ``version``."""
    keys = tuple(sorted(values))
    sql = _UPDATE_SQL.get(keys)
    if sql is None:
        sets = ", ".join(f"{k} = :{k}" for k in keys)
        sql = (
            f"UPDATE cases SET {sets}, version = :new_version WHERE id = :id AND version = :version"
        )
        _UPDATE_SQL[keys] = sql
    params = {
        k: (raw.ts(v) if k in DATETIME_COLUMNS else raw.js(v) if k == "assigned" else v)
        for k, v in values.items()
    }
    params.update(id=case_id, version=version, new_version=version + 1)
    return raw.run(sql, params) == 1
