"""Profiles: one object, one file (一企一档, 一人一档, 一房一档).

A profile is the registry's facts about a person, a legal entity, a room or a building, plus
everything linked to it: the cases at its address or naming its credit code, an enterprise's
demands, the residents of a room, the record's history and site corrections. Other contexts add
their own sections without this module knowing them: risk and credit (``risk.sections``),
entity links (``registry.resolution_sections``), devices, their alerts and permits
(``discovery.sections``) register a provider with :func:`register_section` (at import time of their module),
and every profile then carries it.

A provider is ``fn(p, kind, record_id, record, actor) -> JSON-able | None`` and must itself
respect the actor's scope; it is asked only for the kinds it registered for. A provider that
raises a platform error leaves ``{"error": code}`` in its section instead of failing the
whole profile (one broken part must not hide the rest).

Cases are read through ``cases.queries.list_cases`` with the viewer as actor, so a profile never
shows a case its viewer could not open.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from civicloop.cases import queries as case_queries
from civicloop.core.errors import CivicError
from civicloop.org.model import Actor
from civicloop.registry import service, store
from civicloop.registry.model import Kind
from civicloop.runtime import Platform

log = logging.getLogger(__name__)

SectionFn = Callable[[Platform, Kind, str, dict[str, Any], Actor], Any]
_SECTIONS: dict[str, tuple[frozenset[Kind], SectionFn]] = {}
NEAR_M = 30.0
CASE_DAYS = 365
MAX_CASES = 50


def register_section(name: str, fn: SectionFn, *, kinds: tuple[Kind | str, ...] = ()) -> None:
    """Add a section to every profile of ``kinds`` (all kinds when empty); replaces a section
    of the same name (a module imported twice must not add it twice)."""
    chosen = frozenset(Kind(k) for k in kinds) if kinds else frozenset(Kind)
    _SECTIONS[name] = (chosen, fn)


def sections() -> list[str]:
    return sorted(_SECTIONS)


def _distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    k = math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon2 - lon1) * k, lat2 - lat1) * 111_320.0


def cases_near(
    p: Platform,
    actor: Actor,
    grid_code: str | None,
    lon: float | None,
    lat: float | None,
    *,
    radius_m: float = NEAR_M,
    days: int = CASE_DAYS,
    text: str | None = None,
) -> list[dict[str, Any]]:
    """Cases the actor may see within ``radius_m`` of a point (or whose description names
    ``text``, e.g. a credit code) in the point's street over the last ``days``; newest first."""
    if not grid_code:
        return []
    path = p.grid_path(grid_code) or ""
    parts = [c for c in path.split("/") if c]
    street = parts[1] if len(parts) > 1 else None
    flt = case_queries.CaseFilter(
        street_code=street, reported_from=p.clock.now() - timedelta(days=days)
    )
    rows, _ = case_queries.list_cases(p, actor, flt, limit=1000)
    out = []
    for r in rows:
        near = (
            lon is not None
            and lat is not None
            and r["lon"] is not None
            and _distance_m(lon, lat, r["lon"], r["lat"]) <= radius_m
        )
        named = bool(text) and text in (r["description"] or "")
        if near or named:
            out.append(
                {
                    "id": r["id"],
                    "number": r["number"],
                    "element_code": r["element_code"],
                    "title": r["title"],
                    "status": r["status"],
                    "channel": r["channel"],
                    "reported_at": r["reported_at"],
                    "relation": "subject" if named else "location",
                }
            )
    return out[:MAX_CASES]


def _demands(p: Platform, credit_code: str) -> list[dict[str, Any]]:
    # The enterprise context keeps demands as cases reported by its users; its query builder is
    # the one place that knows the join, so it is reused rather than copied.
    from civicloop.enterprise.service import _demand_query

    q = _demand_query(credit_code)
    with p.db.read() as conn:
        rows = conn.execute(
            q.order_by(q.selected_columns.reported_at.desc()).limit(MAX_CASES)
        ).all()
    return [
        {
            "id": r.id,
            "number": r.number,
            "element_code": r.element_code,
            "title": r.title,
            "status": r.status,
            "reported_at": r.reported_at,
        }
        for r in rows
    ]


def _group_renting_alerts(p: Platform, room_id: str) -> list[dict[str, Any]]:
    """The group-renting detector's alerts on a room, newest first (each links its case)."""
    a = store.alerts.c
    with p.db.read() as conn:
        rows = conn.execute(
            select(a.residents, a.residents_limit, a.signals, a.case_id, a.raised_at)
            .where(a.room_id == room_id)
            .order_by(a.raised_at.desc(), a.id.desc())
            .limit(MAX_CASES)
        ).all()
    return [dict(r._mapping) for r in rows]


def _builtin(p: Platform, kind: Kind, record: dict[str, Any], actor: Actor) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if kind is Kind.PERSON:
        room = service.get_room(p, record["room_id"]) if record.get("room_id") else None
        out["room"] = room
        with p.db.read() as conn:
            pe = store.people.c
            out["household_size"] = (
                int(
                    conn.execute(
                        select(func.count()).where(pe.household == record["household"])
                    ).scalar_one()
                )
                if record.get("household")
                else None
            )
        if room:
            out["cases"] = cases_near(p, actor, room["grid_code"], room["lon"], room["lat"])
    elif kind is Kind.ROOM:
        out["building"] = service.get_building(p, record["building_id"])
        with p.db.read() as conn:
            residents = service.residents_of(conn, record["id"])
        out["residents"] = [
            {
                k: v
                for k, v in service.present(actor, Kind.PERSON, r).items()
                if k in ("id", "name", "sex", "birth_date", "is_living_alone", "is_key_care")
            }
            for r in residents
        ]
        out["cases"] = cases_near(p, actor, record["grid_code"], record["lon"], record["lat"])
        out["group_renting_alerts"] = _group_renting_alerts(p, record["id"])
    elif kind is Kind.BUILDING:
        with p.db.read() as conn:
            r, pe, e = store.rooms.c, store.people.c, store.entities.c
            out["rooms"] = int(
                conn.execute(select(func.count()).where(r.building_id == record["id"])).scalar_one()
            )
            out["residents"] = int(
                conn.execute(
                    select(func.count())
                    .select_from(store.people.join(store.rooms, r.id == pe.room_id))
                    .where(r.building_id == record["id"])
                ).scalar_one()
            )
            out["entities"] = [
                {"credit_code": x.credit_code, "name": x.name, "licence_status": x.licence_status}
                for x in conn.execute(
                    select(e.credit_code, e.name, e.licence_status)
                    .where(e.building_id == record["id"])
                    .order_by(e.credit_code)
                    .limit(MAX_CASES)
                )
            ]
        out["cases"] = cases_near(p, actor, record["grid_code"], record["lon"], record["lat"])
    elif kind is Kind.ENTITY:
        building = (
            service.get_building(p, record["building_id"]) if record.get("building_id") else None
        )
        out["building"] = building
        out["cases"] = cases_near(
            p,
            actor,
            record.get("grid_code"),
            building["lon"] if building else None,
            building["lat"] if building else None,
            text=record["credit_code"],
        )
        out["demands"] = _demands(p, record["credit_code"])
    out["history"] = service.history_of(p, kind, _key(kind, record))
    from civicloop.registry.corrections import corrections_of

    out["corrections"] = corrections_of(p, kind, _key(kind, record))
    return out


def _key(kind: Kind, record: dict[str, Any]) -> str:
    return str(record["credit_code"] if kind is Kind.ENTITY else record["id"])


def profile(p: Platform, kind: Kind | str, record_id: str, actor: Actor) -> dict[str, Any]:
    """The profile of one object as ``actor`` may see it.

    Raises NotFoundError for a missing record or one outside the actor's territory, and
    ForbiddenError for roles that do not read registries.
    """
    kind = service.table_kind(kind)
    record = service.access_record(p, actor, kind, record_id)
    out: dict[str, Any] = {
        "kind": str(kind),
        "id": _key(kind, record),
        "facts": service.present(actor, kind, record),
    }
    out.update(_builtin(p, kind, record, actor))
    extra: dict[str, Any] = {}
    for name, (kinds, fn) in sorted(_SECTIONS.items()):
        if kind not in kinds:
            continue
        try:
            extra[name] = fn(p, kind, out["id"], record, actor)
        except CivicError as exc:
            log.warning("profile section %s failed: %s", name, exc.code)
            extra[name] = {"error": exc.code}
    out["sections"] = extra
    return out
