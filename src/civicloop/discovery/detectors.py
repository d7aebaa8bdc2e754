"""Detectors: findings that need data beyond one reading — registries and permits.

* **Elder living alone, no water use** (E0801): a water meter (``WaterMeter``) of a room where
  a registered elder lives alone shows no use — ``flow`` ≤ 0, or a cumulative ``volume`` that
  does not rise — for :data:`ELDER_QUIET` (12 h), or says nothing at all for as long (checked
  by :func:`check_silence`). Urgent: the community visits within the hour.
* **Muck trucks** (渣土车): each ``VehiclePosition`` is checked against the valid transport
  permits of its plate (``plate`` or ``vehiclePlateIdentifier`` in the reading, or the
  device's ``plate``): no valid permit (E0605), outside the permitted hours (E0602), outside the
  route corridor (E0601), or stopped (``speed`` ≤ :data:`STOP_SPEED_KMH`) for
  :data:`STOP_AFTER` away from every registered disposal site and outside the corridor (E0603).
* **Repeated mixed-waste reports** at one collection point are a ``count`` rule in the
  default rule file (``rules/garbage.yaml``), not code: N reports within a window.

Each check is a built-in rule run through the same state machine as YAML rules
(``rules_model.advance``): hysteresis and timers per device, persisted, one alert per episode.

Residents: :func:`elders_by_meter` joins the population registry's elders living alone
(``registry.service.elders_living_alone``) to the water meters registered with their
``room_id``. ``discovery_residents`` (``add_resident``) remains for deployments that register
meters against residents before their population registry is imported; both are read.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from civicloop.core.errors import InputError
from civicloop.core.rawsql import Raw
from civicloop.discovery.alert_store import residents  # noqa: F401  (registers the table)
from civicloop.discovery.model import Alert, Device, Reading
from civicloop.discovery.rules_model import CLEAR, RAISE, Rule, RuleKind, advance
from civicloop.runtime import Platform

if TYPE_CHECKING:
    from civicloop.discovery.rules import Engine

ELDER_QUIET = timedelta(hours=12)
ELDER_AGE = 60
STOP_SPEED_KMH = 1.0
STOP_AFTER = timedelta(minutes=10)
CACHE_SECONDS = 30.0
_CACHE_ATTR = "_discovery_elders"
DATA_RULE = {"channel": "data_rule"}


def _rule(rid: str, element: str, entity: str, kind: RuleKind, **kw: Any) -> Rule:
    return Rule(id=rid, element=element, entity_type=entity, attributes=(), kind=kind, **kw)


ELDER_NO_WATER = _rule(
    "detector.elder.no_water",
    "E0801",
    "WaterMeter",
    RuleKind.SUSTAINED,
    duration=ELDER_QUIET,
    severity="urgent",
)
ELDER_SILENT = _rule(
    "detector.elder.meter_silent", "E0801", "WaterMeter", RuleKind.NO_SIGNAL, severity="urgent"
)
MUCK_NO_PERMIT = _rule("detector.muck.no_permit", "E0605", "VehiclePosition", RuleKind.THRESHOLD)
MUCK_OFF_HOURS = _rule("detector.muck.off_hours", "E0602", "VehiclePosition", RuleKind.THRESHOLD)
MUCK_OFF_ROUTE = _rule("detector.muck.off_route", "E0601", "VehiclePosition", RuleKind.THRESHOLD)
MUCK_STOPPED = _rule(
    "detector.muck.stopped", "E0603", "VehiclePosition", RuleKind.SUSTAINED, duration=STOP_AFTER
)
DETECTOR_RULES = (
    ELDER_NO_WATER,
    ELDER_SILENT,
    MUCK_NO_PERMIT,
    MUCK_OFF_HOURS,
    MUCK_OFF_ROUTE,
    MUCK_STOPPED,
)


# -- residents (stand-in for the registry) ---------------------------------------------------------


def add_resident(
    p: Platform,
    *,
    room_id: str,
    name: str,
    lives_alone: bool,
    birth_year: int | None = None,
    meter_device_id: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    grid_code: str | None = None,
) -> int:
    """Register a resident in the stand-in residents table; its id."""
    if not room_id or not name:
        raise InputError("room_id and name are required", field="room_id", rule="required")
    with p.db.write() as conn:
        raw = Raw(conn)
        raw.run(
            "INSERT INTO discovery_residents (room_id, meter_device_id, name, birth_year,"
            " lives_alone, lon, lat, grid_code) VALUES (:room_id, :meter, :name, :birth_year,"
            " :lives_alone, :lon, :lat, :grid_code)",
            {
                "room_id": room_id,
                "meter": meter_device_id,
                "name": name[:64],
                "birth_year": birth_year,
                "lives_alone": lives_alone,
                "lon": lon,
                "lat": lat,
                "grid_code": grid_code,
            },
        )
        got = raw.one("SELECT MAX(id) AS id FROM discovery_residents")
    setattr(p, _CACHE_ATTR, None)
    return int(got["id"]) if got else 0


def elders_by_meter(p: Platform) -> dict[str, dict[str, Any]]:
    """Water-meter device id → the elder living alone it serves (cached ``CACHE_SECONDS``):
    the registry's elders joined to meters by ``room_id``, then the stand-in table."""
    hit = getattr(p, _CACHE_ATTR, None)
    now = time.monotonic()
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    out: dict[str, dict[str, Any]] = {}
    out.update(_registry_elders_by_meter(p))
    year = p.clock.now().year
    with p.db.read() as conn:
        for r in Raw(conn).all(
            "SELECT room_id, meter_device_id, name, birth_year, lon, lat, grid_code"
            " FROM discovery_residents WHERE lives_alone = :t AND meter_device_id IS NOT NULL",
            {"t": True},
        ):
            if r["birth_year"] is None or year - int(r["birth_year"]) >= ELDER_AGE:
                out.setdefault(str(r["meter_device_id"]), r)
    setattr(p, _CACHE_ATTR, (now, out))
    return out


def _registry_elders_by_meter(p: Platform) -> dict[str, dict[str, Any]]:
    """Meters whose ``room_id`` attribute is the room of a registered elder living alone (the
    room → meters map is ``utility.meters_by_room``, the one join of meters to rooms)."""
    from civicloop.discovery.service import devices_by_id
    from civicloop.discovery.utility import meters_by_room
    from civicloop.registry.service import elders_living_alone

    by_room = {str(e["room_id"]): e for e in elders_living_alone(p, min_age=ELDER_AGE)}
    if not by_room:
        return {}
    rooms = meters_by_room(p)
    wanted = {
        device_id: by_room[room]
        for room in by_room.keys() & rooms.keys()
        for device_id, entity_type in rooms[room]
        if entity_type == "WaterMeter"
    }
    out: dict[str, dict[str, Any]] = {}
    for device_id, m in devices_by_id(p, wanted).items():
        elder = wanted[device_id]
        out[device_id] = {
            "room_id": elder["room_id"],
            "meter_device_id": device_id,
            "name": elder["name"],  # already masked by the registry
            "lon": elder["lon"] if elder["lon"] is not None else m.lon,
            "lat": elder["lat"] if elder["lat"] is not None else m.lat,
            "grid_code": elder["grid_code"] or m.grid_code,
        }
    return out


# -- the detectors --------------------------------------------------------------------------------


def run(
    p: Platform, eng: Engine, readings: Iterable[Reading], devices: dict[str, Device]
) -> list[Alert]:
    """All detectors over one batch (called by ``rules.evaluate`` under the engine lock)."""
    out: list[Alert] = []
    elders: dict[str, dict[str, Any]] | None = None
    plates: dict[str, Any] | None = None
    for r in readings:
        if r.entity_type == "WaterMeter":
            if elders is None:
                elders = elders_by_meter(p)
            elder = elders.get(r.device_id)
            if elder is not None:
                out.extend(_elder(eng, r, elder))
        elif r.entity_type == "VehiclePosition":
            if plates is None:
                from civicloop.discovery.permits import permits_by_plate

                plates = permits_by_plate(p)
            out.extend(_muck(eng, r, devices.get(r.device_id), plates))
    return out


def _where(r: Reading, dev: Device | None) -> tuple[float | None, float | None, str | None]:
    lon = r.lon if r.lon is not None else (dev.lon if dev else None)
    lat = r.lat if r.lat is not None else (dev.lat if dev else None)
    return lon, lat, r.grid_code or (dev.grid_code if dev else None)


def _step(
    eng: Engine,
    rule: Rule,
    subject: str,
    holds: bool,
    at: datetime,
    where: tuple[float | None, float | None, str | None],
    summary: str,
    evidence: dict[str, Any],
) -> Alert | None:
    st = eng.state(rule.id, subject)
    before = (st.is_active, st.pending_since)
    transition = advance(rule, st, holds, not holds, at)
    st.dirty = st.dirty or before != (st.is_active, st.pending_since)
    if transition is None:
        return None
    lon, lat, grid = where
    return Alert(
        rule_id=rule.id,
        element_code=rule.element,
        device_id=subject,
        observed_at=at,
        lat=lat,
        lon=lon,
        grid_code=grid,
        summary=summary,
        severity=rule.severity,
        evidence={
            "transition": "raised" if transition == RAISE else "cleared",
            "rule_kind": str(rule.kind),
        }
        | DATA_RULE
        | evidence,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _elder(eng: Engine, r: Reading, elder: dict[str, Any]) -> list[Alert]:
    out: list[Alert] = []
    where = (elder.get("lon"), elder.get("lat"), elder.get("grid_code"))
    silent = eng.state(ELDER_SILENT.id, r.device_id)
    previous_seen = silent.last_seen_at
    if previous_seen is None or r.observed_at > previous_seen:
        silent.last_seen_at = r.observed_at
        if previous_seen is None or r.observed_at - previous_seen >= ELDER_QUIET / 8:
            silent.dirty = True
        if silent.is_active:
            advance(ELDER_SILENT, silent, False, True, r.observed_at)
            silent.dirty = True
            out.append(_cleared(ELDER_SILENT, r, where))
    flow = _number(r.attrs.get("flow"))
    volume = _number(r.attrs.get("volume", r.attrs.get("totalVolume")))
    st = eng.state(ELDER_NO_WATER.id, r.device_id)
    if flow is not None:
        idle = flow <= 0
    elif volume is not None:
        idle = st.last_value is not None and volume <= st.last_value
        if st.last_value is None or volume != st.last_value:
            st.last_value, st.dirty = volume, True
    else:
        return out
    room = str(elder.get("room_id"))
    alert = _step(
        eng,
        ELDER_NO_WATER,
        r.device_id,
        idle,
        r.observed_at,
        where,
        f"独居老人房屋（{room}）智能水表12小时无用水，请社区1小时内上门探视",
        {"room_id": room},
    )
    if alert is not None:
        out.append(alert)
    return out


def _cleared(rule: Rule, r: Reading, where: tuple[float | None, float | None, str | None]) -> Alert:
    return Alert(
        rule_id=rule.id,
        element_code=rule.element,
        device_id=r.device_id,
        observed_at=r.observed_at,
        lat=where[1],
        lon=where[0],
        grid_code=where[2],
        summary="",
        severity=rule.severity,
        evidence={"transition": "cleared", "rule_kind": str(rule.kind)} | DATA_RULE,
    )


def _plate(r: Reading, dev: Device | None) -> str:
    from civicloop.discovery.permits import normalise_plate

    raw = r.attrs.get("plate") or r.attrs.get("vehiclePlateIdentifier")
    if not raw and dev is not None:
        raw = dev.attrs.get("plate")
    return normalise_plate(str(raw)) if raw else ""


def _muck(eng: Engine, r: Reading, dev: Device | None, plates: dict[str, Any]) -> list[Alert]:
    where = _where(r, dev)
    lon, lat, _grid = where
    plate = _plate(r, dev)
    if not plate or lon is None or lat is None:
        return []
    at = r.observed_at
    valid = [x for x in plates.get(plate, []) if x.is_valid_at(at)]
    out: list[Alert | None] = [
        _step(
            eng,
            MUCK_NO_PERMIT,
            r.device_id,
            not valid,
            at,
            where,
            f"渣土车 {plate} 无有效运输许可",
            {"plate": plate},
        )
    ]
    if valid:
        in_hours = any(x.window.contains(at) for x in valid)
        inside = [x for x in valid if x.corridor.contains(lon, lat)]
        distance = min(x.corridor.distance_m(lon, lat) for x in valid)
        site = next((s for x in valid if (s := x.at_site(lon, lat)) is not None), None)
        speed = _number(r.attrs.get("speed"))
        stopped = speed is not None and speed <= STOP_SPEED_KMH and site is None and not inside
        permit_no = valid[0].permit_no
        out.append(
            _step(
                eng,
                MUCK_OFF_HOURS,
                r.device_id,
                not in_hours,
                at,
                where,
                f"渣土车 {plate} 在许可时段外运输（许可 {permit_no}）",
                {"plate": plate, "permit_no": permit_no},
            )
        )
        out.append(
            _step(
                eng,
                MUCK_OFF_ROUTE,
                r.device_id,
                not inside,
                at,
                where,
                f"渣土车 {plate} 偏离核准路线约 {distance:.0f} 米（许可 {permit_no}）",
                {"plate": plate, "permit_no": permit_no, "distance_m": round(distance, 1)},
            )
        )
        out.append(
            _step(
                eng,
                MUCK_STOPPED,
                r.device_id,
                stopped,
                at,
                where,
                f"渣土车 {plate} 在非登记消纳点停留超过{int(STOP_AFTER.total_seconds() // 60)}分钟",
                {"plate": plate, "permit_no": permit_no},
            )
        )
    return [a for a in out if a is not None]


def check_silence(p: Platform, eng: Engine, now: datetime) -> list[Alert]:
    """Elders' water meters silent for :data:`ELDER_QUIET` (called by ``rules.check_silence``)."""
    elders = elders_by_meter(p)
    out: list[Alert] = []
    for meter, elder in elders.items():
        st = eng.states.get((ELDER_SILENT.id, meter))
        if st is None or st.is_active or st.last_seen_at is None:
            continue
        if now - st.last_seen_at <= ELDER_QUIET:
            continue
        advance(ELDER_SILENT, st, True, False, now)
        st.dirty = True
        room = str(elder.get("room_id"))
        out.append(
            Alert(
                rule_id=ELDER_SILENT.id,
                element_code=ELDER_SILENT.element,
                device_id=meter,
                observed_at=now,
                lat=elder.get("lat"),
                lon=elder.get("lon"),
                grid_code=elder.get("grid_code"),
                summary=f"独居老人房屋（{room}）智能水表12小时无数据，请社区1小时内上门探视",
                severity="urgent",
                evidence={"transition": "raised", "rule_kind": "no_signal", "room_id": room}
                | DATA_RULE,
            )
        )
    return out


__all__ = ["CLEAR", "DETECTOR_RULES", "add_resident", "check_silence", "elders_by_meter", "run"]
