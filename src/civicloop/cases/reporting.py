"""Reporting: any channel's report becomes a case in status ``reported``.

The report is validated (element, text, place), placed on a grid (coordinates through the grid
index, or a grid code), numbered, stored with its first timed step (acceptance) and traced in
the ledger — one transaction, so an acknowledged report is a stored report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from civicloop.cases import duplicates, priority
from civicloop.cases.clock import open_step
from civicloop.cases.model import Channel, Priority, Status
from civicloop.cases.store import load_case
from civicloop.catalogue.model import Element, Step
from civicloop.core.errors import InputError
from civicloop.core.ids import new_uuid, tracking_code
from civicloop.core.rawsql import Raw
from civicloop.ledger.service import Action as LedgerAction
from civicloop.ledger.service import record
from civicloop.org.model import Actor
from civicloop.runtime import Platform


@dataclass
class CaseDraft:
    """A report as it arrives from any channel, before it is a case."""

    element_code: str
    description: str
    channel: Channel = Channel.WEB
    title: str = ""
    lon: float | None = None
    lat: float | None = None
    grid_code: str | None = None
    address: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    # Photos already checked and stored (``core.photos``): their metadata (sha256, content type,
    # size, filename) becomes evidence notes in the same transaction as the case.
    photos: tuple[dict[str, Any], ...] = ()


_INSERT = (
    "INSERT INTO cases (id, number, tracking_code, element_code, scene_code, catalogue_version,"
    " title, description, channel, status, loop_level, is_urgent, grid_code, region_path,"
    " street_code, lon, lat, address, reporter_id, reporter_name, reporter_phone, assigned,"
    " rework_count, return_count, reopen_count, extension_count, is_overdue, priority,"
    " priority_reason, reported_at, updated_at, version) VALUES (:id, :number, :tracking_code,"
    " :element_code, :scene_code, :catalogue_version, :title, :description, :channel, :status,"
    " :loop_level, :is_urgent, :grid_code, :region_path, :street_code, :lon, :lat, :address,"
    " :reporter_id, :reporter_name, :reporter_phone, :assigned, 0, 0, 0, 0, :is_overdue,"
    " :priority, :priority_reason, :reported_at, :updated_at, 1)"
)
_PHOTO = (
    "INSERT INTO case_notes (case_id, kind, text, attachment, actor_id, at)"
    " VALUES (:case_id, 'evidence', :text, :attachment, :actor_id, :at)"
)
_COUNTER = (
    "INSERT INTO case_counters (day, value) VALUES (:day, 1) ON CONFLICT (day)"
    " DO UPDATE SET value = case_counters.value + 1 RETURNING value"
)


def report_case(
    p: Platform,
    actor: Actor,
    draft: CaseDraft,
    *,
    request_id: str = "-",
    also: Callable[[Connection, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Record a report as a case in status ``reported`` and start the acceptance clock.

    ``also(conn, view)`` runs inside the same transaction once the case (or the attachment to
    a master case) is written: a channel stores what it alone knows (an Open311 token, an
    intake record) atomically with the case. Raises InputError for an unknown element, a
    place outside the district, or text too long.
    """
    element = p.catalogue.element(draft.element_code)
    if element is None:
        raise InputError(
            f"unknown element code {draft.element_code!r}",
            field="element_code",
            rule="must be an element of the active catalogue",
        )
    description = (draft.description or "").strip()
    if not description:
        raise InputError("description must not be empty", field="description", rule="required")
    if len(description) > p.settings.max_text_length:
        raise InputError(
            f"description is longer than {p.settings.max_text_length} characters",
            field="description",
            rule="max_length",
        )
    grid_code = _place(p, draft)
    path = p.grid_path(grid_code)
    if path is None:
        raise InputError(f"unknown grid {grid_code!r}", field="grid_code", rule="exists")
    # Asked before the write transaction: it reads other tables and must not hold the writer.
    prio, prio_reason = priority.assess(
        p,
        {
            "grid_code": grid_code,
            "address": draft.address,
            "title": draft.title,
            "description": description,
        },
    )
    now = p.clock.now()
    with p.db.write() as conn:
        raw = Raw(conn)
        dupes = (
            duplicates.candidates(raw, element, draft.lon, draft.lat, description, now)
            if draft.lon is not None and draft.lat is not None
            else []
        )
        if dupes and dupes[0].certain:
            view = _attach(conn, raw, actor, draft, description, dupes[0], now, request_id)
            if also is not None:
                also(conn, view)
            return view
        route = p.route(conn, element.code, path)
        row: dict[str, Any] = {
            "id": new_uuid(),
            "number": _next_number(raw, element, now),
            "tracking_code": tracking_code(),
            "element_code": element.code,
            "scene_code": element.scene_code,
            "catalogue_version": p.catalogue.version,
            "title": (draft.title or element.name).strip()[:200],
            "description": description,
            "channel": str(draft.channel),
            "status": str(Status.REPORTED),
            "loop_level": str(route.loop_level if route else element.loop_level),
            "is_urgent": False,
            "grid_code": grid_code,
            "region_path": path,
            "street_code": [c for c in path.split("/") if c][1],
            "lon": draft.lon,
            "lat": draft.lat,
            "address": draft.address or None,
            "reporter_id": actor.id,
            "reporter_name": draft.reporter_name,
            "reporter_phone": draft.reporter_phone,
            "assigned": {},
            "is_overdue": False,
            "priority": str(prio),
            "priority_reason": prio_reason,
            "reported_at": now,
            "updated_at": now,
        }
        raw.run(
            _INSERT,
            {**row, "assigned": raw.js({}), "reported_at": raw.ts(now), "updated_at": raw.ts(now)},
        )
        open_step(p, raw, row["id"], element, Step.ACCEPT, now)
        for photo in draft.photos:
            raw.run(
                _PHOTO,
                {
                    "case_id": row["id"],
                    "text": "上报照片",
                    "attachment": raw.js(photo),
                    "actor_id": actor.id,
                    "at": raw.ts(now),
                },
            )
        snapshot = {
            k: row[k]
            for k in (
                "number",
                "element_code",
                "status",
                "grid_code",
                "channel",
                "title",
                "loop_level",
            )
        }
        if prio is not Priority.NORMAL:
            snapshot["priority"] = str(prio)
            snapshot["priority_reason"] = prio_reason
        if draft.photos:
            snapshot["photos"] = [str(ph.get("sha256")) for ph in draft.photos]
        record(
            conn,
            actor,
            [LedgerAction("case.reported", "case", row["id"], after=snapshot)],
            at=now,
            request_id=request_id,
        )
        view = {
            **row,
            "rework_count": 0,
            "return_count": 0,
            "reopen_count": 0,
            "extension_count": 0,
            "version": 1,
            "filing_condition": None,
            "closure_type": None,
            "lead_department": None,
            "master_case_id": None,
            "verification_passed": None,
            "satisfaction": None,
            "handle_due_at": None,
            "filed_at": None,
            "dispatched_at": None,
            "closed_at": None,
            "assignments": {},
            "duplicate_of": None,
            "duplicate_candidates": [c.as_dict() for c in dupes],
        }
        if also is not None:
            also(conn, view)
    return view


_ATTACH = (
    "INSERT INTO case_reporters (case_id, reporter_id, reporter_name, reporter_phone, channel,"
    " tracking_code, description, lon, lat, distance_m, attached_at) VALUES (:case_id,"
    " :reporter_id, :reporter_name, :reporter_phone, :channel, :tracking_code, :description,"
    " :lon, :lat, :distance_m, :attached_at)"
)


def _attach(
    conn: Connection,
    raw: Raw,
    actor: Actor,
    draft: CaseDraft,
    description: str,
    master: duplicates.Candidate,
    now: datetime,
    request_id: str,
) -> dict[str, Any]:
    """Attach a certain duplicate's reporter to the master case (no new case is opened).

    The answer is the master case as this reporter sees it: their own text, contact and
    tracking code, the master's progress — never the first reporter's personal data.
    """
    code = tracking_code()
    raw.run(
        _ATTACH,
        {
            "case_id": master.case_id,
            "reporter_id": actor.id,
            "reporter_name": draft.reporter_name,
            "reporter_phone": draft.reporter_phone,
            "channel": str(draft.channel),
            "tracking_code": code,
            "description": description,
            "lon": draft.lon,
            "lat": draft.lat,
            "distance_m": round(master.distance_m, 1),
            "attached_at": raw.ts(now),
        },
    )
    for photo in draft.photos:  # the later reporter's photos are evidence on the master case
        raw.run(
            _PHOTO,
            {
                "case_id": master.case_id,
                "text": "重复上报照片",
                "attachment": raw.js(photo),
                "actor_id": actor.id,
                "at": raw.ts(now),
            },
        )
    record(
        conn,
        actor,
        [
            LedgerAction(
                "case.reporter_attached",
                "case",
                master.case_id,
                after={
                    "channel": str(draft.channel),
                    "distance_m": round(master.distance_m, 1),
                    "similarity": round(master.similarity, 2),
                },
            )
        ],
        at=now,
        request_id=request_id,
    )
    row = load_case(raw, master.case_id)
    assert row is not None  # found by the duplicate check in this same transaction
    return {
        **row,
        "assignments": row["assigned"],
        "tracking_code": code,
        "description": description,
        "reporter_id": actor.id,
        "reporter_name": draft.reporter_name,
        "reporter_phone": draft.reporter_phone,
        "duplicate_of": master.case_id,
        "duplicate_candidates": [],
    }


def _place(p: Platform, draft: CaseDraft) -> str:
    if draft.lon is not None or draft.lat is not None:
        if draft.lon is None or draft.lat is None:
            raise InputError(
                "give both lon and lat",
                field="lon" if draft.lon is None else "lat",
                rule="required_together",
            )
        if not (-180 <= draft.lon <= 180 and -90 <= draft.lat <= 90):
            raise InputError("lon/lat are not WGS84 degrees", field="lon", rule="range")
        code = p.grids.locate(draft.lon, draft.lat)
        if code is None:
            raise InputError(
                "the location is outside the district's grids",
                field="lon",
                rule="inside_district",
                lon=draft.lon,
                lat=draft.lat,
            )
        if draft.grid_code and draft.grid_code != code:
            raise InputError(
                "grid_code does not contain lon/lat",
                field="grid_code",
                rule="consistent_with_location",
            )
        return code
    if draft.grid_code:
        return draft.grid_code
    raise InputError("give a location: lon and lat, or grid_code", field="lon", rule="required")


def _next_number(raw: Raw, element: Element, now: datetime) -> str:
    """Readable case number: C/E + class code + yyyymmdd + 5-digit serial of the day."""
    day = now.strftime("%Y%m%d")
    got = raw.one(_COUNTER, {"day": day})
    serial = int(got["value"]) if got else 1
    return f"{element.code[0]}{element.class_code}{day}{serial:05d}"
