"""The ``devices``, ``alerts`` and ``permits`` sections of registry profiles (一房一档, 一企一档).

A room's or building's profile shows the sensors that serve it (devices whose ``room_id`` or
``building_id`` attribute names it — water and electricity meters, smoke detectors, call
buttons), each with its latest reading and the last day's hourly summary, and the alerts those
devices raised. An enterprise's profile shows its muck-transport permits, the vehicles that run
under them (devices whose ``plate`` a permit names, or whose ``owner_credit_code`` is the
enterprise) with their latest positions, and those vehicles' alerts.

Registered with ``registry.profiles.register_section`` when this module is imported (the
discovery API imports it, so a running server's profiles carry them). The profile has already
checked that the viewer may open the record; devices and alerts attached to a record the viewer
may see are within the viewer's territory by construction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select

from civicloop.discovery import alert_store, service, store
from civicloop.discovery.permits import list_permits, normalise_plate
from civicloop.org.model import Actor
from civicloop.registry.model import Kind
from civicloop.registry.profiles import register_section
from civicloop.runtime import Platform

MAX_DEVICES = 20
MAX_ALERTS = 20
SUMMARY_HOURS = 24


def _attr(name: str) -> Any:
    return store.devices.c.attrs[name].as_string()


def _device_ids(p: Platform, kind: Kind, record_id: str, record: dict[str, Any]) -> list[str]:
    """Ids of the devices attached to the record (JSON attributes, one query)."""
    d = store.devices.c
    if kind is Kind.ROOM:
        cond = _attr("room_id") == record_id
    elif kind is Kind.BUILDING:
        from civicloop.registry.service import room_ids_of_building

        rooms = room_ids_of_building(p, record_id)
        cond = or_(_attr("building_id") == record_id, _attr("room_id").in_(rooms or [""]))
    elif kind is Kind.ENTITY:
        plates = sorted({normalise_plate(x["plate"]) for x in _permits(p, record_id)})
        cond = or_(_attr("owner_credit_code") == record_id, _attr("plate").in_(plates or [""]))
    else:
        return []
    with p.db.read() as conn:
        return [
            str(r.device_id)
            for r in conn.execute(
                select(d.device_id).where(cond).order_by(d.device_id).limit(MAX_DEVICES + 1)
            )
        ]


def _permits(p: Platform, credit_code: str) -> list[dict[str, Any]]:
    return [x for x in list_permits(p) if x["company_credit_code"] == credit_code]


def _summary(p: Platform, device_id: str) -> dict[str, Any]:
    latest = service.list_readings(p, device_id, limit=1)
    since = p.clock.now() - timedelta(hours=SUMMARY_HOURS)
    hours = service.list_readings(p, device_id, since=since, agg="hour", limit=10_000)
    per_attr: dict[str, dict[str, Any]] = {}
    for h in hours:
        a = per_attr.setdefault(h["attr"], {"count": 0, "min": None, "max": None})
        a["count"] += h["count"]
        for k, pick in (("min", min), ("max", max)):
            if h.get(k) is not None:
                a[k] = h[k] if a[k] is None else pick(a[k], h[k])
    return {
        "latest": latest[-1] if latest else None,
        f"last_{SUMMARY_HOURS}h": per_attr,
    }


def devices_section(
    p: Platform, kind: Kind, record_id: str, record: dict[str, Any], actor: Actor
) -> dict[str, Any]:
    ids = _device_ids(p, kind, record_id, record)
    found = service.devices_by_id(p, ids[:MAX_DEVICES])
    seen = service.last_seen(p, list(found))
    items = [
        {
            "device_id": dev.device_id,
            "entity_type": dev.entity_type,
            "grid_code": dev.grid_code,
            "last_seen_at": seen.get(dev.device_id),
            **_summary(p, dev.device_id),
        }
        for dev in (found[i] for i in ids[:MAX_DEVICES] if i in found)
    ]
    return {"items": items, "is_truncated": len(ids) > MAX_DEVICES}


def alerts_section(
    p: Platform, kind: Kind, record_id: str, record: dict[str, Any], actor: Actor
) -> list[dict[str, Any]]:
    ids = _device_ids(p, kind, record_id, record)
    if not ids:
        return []
    a = alert_store.alerts.c
    with p.db.read() as conn:
        rows = conn.execute(
            select(
                a.id,
                a.rule_id,
                a.element_code,
                a.device_id,
                a.summary,
                a.severity,
                a.status,
                a.case_id,
                a.raised_at,
                a.cleared_at,
                a.repeat_count,
            )
            .where(a.device_id.in_(ids))
            .order_by(a.raised_at.desc(), a.id)
            .limit(MAX_ALERTS)
        ).all()
    return [dict(r._mapping) for r in rows]


def permits_section(
    p: Platform, kind: Kind, record_id: str, record: dict[str, Any], actor: Actor
) -> list[dict[str, Any]]:
    return _permits(p, record_id)


register_section("devices", devices_section, kinds=(Kind.ROOM, Kind.BUILDING, Kind.ENTITY))
register_section("alerts", alerts_section, kinds=(Kind.ROOM, Kind.BUILDING, Kind.ENTITY))
register_section("permits", permits_section, kinds=(Kind.ENTITY,))
