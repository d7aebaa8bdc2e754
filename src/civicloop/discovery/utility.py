"""Utility use as a witness of how many people live in a room — group renting's (群租) meter signal.

A crowded flat draws more water and electricity than the household registered there. This
module reads a room's cumulative meters — ``WaterMeter.volume`` (m³) and
``ElectricityMeter.energy`` (kWh), joined to rooms through the device attribute ``room_id``
exactly as the elder detector's meters are — and turns the last ``rules.utility_days`` into
use per day and the number of residents that use implies against per-person norms
(``registry.model.GroupRentingRules``: water and electricity per person per day).

Measuring use from counters:

* samples are hourly aggregates (min, max, last): the compacted ``readings_hourly`` rows merged
  with recent raw readings folded the same way — what ``service.list_readings(agg="hour")``
  answers for one meter, here for many meters in one query per table and 500 meters;
* use is the sum of the counter's positive steps; a negative step is a reset or a rollover
  (a replaced meter, a wrapped counter) and is dropped, the count resuming from the new value.
  Use lost around a reset makes the estimate smaller, never larger: the signal errs towards
  "no evidence", not towards invented residents;
* coverage is the span from the first sampled hour to the last reading; under
  ``rules.utility_min_days`` a kind of use says nothing (one reading, or a day of them, does
  not describe a household), and a room with no covered kind has no evidence at all (None).

Implied residents: use per day ÷ the norm, rounded down; meters of one kind in a room add up
over their joint span (side by side or one replacing another); when both water and
electricity are measured the smaller count is taken — both must agree (an air-conditioned
flat alone, or a leaking pipe alone, is not a crowd).

Batching: the detector asks about thousands of rooms, so the room → meters map is one query over
``devices``, cached per platform for :data:`CACHE_SECONDS` (``service.forget_devices`` drops it
with the device cache on every registry change; the elder detector reads the same map), and
readings are read in batches.

``registry.group_renting`` calls :func:`utility_evidence` (lazily, inside the detector) and
turns it into its ``utility`` signal; nothing here changes state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select, text

from civicloop.core.rawsql import Raw
from civicloop.discovery import store
from civicloop.discovery.readings import hour_of
from civicloop.runtime import Platform

if TYPE_CHECKING:
    from civicloop.registry.model import GroupRentingRules

CACHE_SECONDS = 30.0
_CACHE_ATTR = "_discovery_room_meters"
BATCH = 500
# The cumulative counter of each meter type, and the kind of use it measures.
COUNTERS = {"WaterMeter": ("volume", "water"), "ElectricityMeter": ("energy", "electricity")}
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class HourSample:
    """One hour of a cumulative counter: its lowest, highest and last value. Times are epoch
    seconds (the hour's start, the last reading's time): thousands of meters × hundreds of
    hours are compared and subtracted, never shown."""

    hour: float
    min: float
    max: float
    last: float
    last_at: float


@dataclass(frozen=True, slots=True)
class MeterUse:
    device_id: str
    kind: str  # water | electricity
    use: float  # m³ or kWh between start and end
    start: float  # epoch seconds: the first sampled hour's start
    end: float  # epoch seconds: the last reading
    resets: int

    @property
    def days(self) -> float:
        return max(self.end - self.start, 0.0) / 86_400


@dataclass(frozen=True, slots=True)
class UtilityEvidence:
    """What a room's meters say: use per day per kind and the residents it implies."""

    room_id: str
    implied: int
    days_covered: float
    water_m3_per_day: float | None
    electricity_kwh_per_day: float | None
    meters: tuple[str, ...]
    resets: int

    def public(self) -> dict[str, Any]:
        return {
            "implied_residents": self.implied,
            "days_covered": round(self.days_covered, 1),
            "water_m3_per_day": _round(self.water_m3_per_day, 3),
            "electricity_kwh_per_day": _round(self.electricity_kwh_per_day, 2),
            "meters": list(self.meters),
            "resets": self.resets,
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# ---------------------------------------------------------------- pure arithmetic


def counter_use(hours: Sequence[HourSample]) -> tuple[float, int]:
    """Use measured by a cumulative counter over time-ordered hours, and how many resets it saw.

    Within an hour whose last value is below its highest the counter was reset: the climb to
    the highest (from the previous hour's last) and the climb after the reset (last − lowest)
    both count. Between hours, a rise counts and a fall is a reset."""
    use, resets = 0.0, 0
    prev: float | None = None
    for h in hours:
        if h.last < h.max - _EPS * max(1.0, abs(h.max)):
            resets += 1
            if prev is not None and h.max >= prev:
                use += h.max - prev
            use += max(0.0, h.last - h.min)
        else:
            if prev is not None:
                if h.min >= prev:
                    use += h.min - prev
                else:
                    resets += 1
            use += h.max - h.min
        prev = h.last
    return use, resets


def meter_use(device_id: str, kind: str, hours: Sequence[HourSample]) -> MeterUse:
    """A meter's use over its samples, from the first sampled hour's start to the last reading
    (a slight overestimate of the span: use per day errs low)."""
    ordered = sorted(hours, key=lambda h: h.hour)
    if not ordered:
        return MeterUse(device_id, kind, 0.0, 0.0, 0.0, 0)
    use, resets = counter_use(ordered)
    return MeterUse(device_id, kind, use, ordered[0].hour, ordered[-1].last_at, resets)


def implied_residents(per_day: float, norm: float) -> int:
    """People a use per day implies at ``norm`` per person per day, rounded down."""
    if norm <= 0 or per_day <= 0:
        return 0
    return math.floor(per_day / norm + 1e-6)


def room_evidence(
    room_id: str, uses: Iterable[MeterUse], rules: GroupRentingRules
) -> UtilityEvidence | None:
    """A room's evidence from its meters' use; None when no kind covers enough days.

    Per kind, the meters' use is summed over the span from the earliest start to the latest
    end: two meters side by side (two supply lines) add up, and a meter replaced by another
    in the window is not counted twice (a gap between them only lowers the estimate)."""
    spans: dict[str, list[MeterUse]] = {}
    for u in uses:
        if u.end > u.start:
            spans.setdefault(u.kind, []).append(u)
    per_day: dict[str, float] = {}
    days: dict[str, float] = {}
    for kind, group in spans.items():
        covered = (max(u.end for u in group) - min(u.start for u in group)) / 86_400
        if covered >= rules.utility_min_days:
            per_day[kind] = sum(u.use for u in group) / covered
            days[kind] = covered
    if not per_day:
        return None
    norms = {
        "water": rules.water_m3_per_person_day,
        "electricity": rules.electricity_kwh_per_person_day,
    }
    counted = [u for kind in per_day for u in spans[kind]]
    return UtilityEvidence(
        room_id=room_id,
        implied=min(implied_residents(v, norms[k]) for k, v in per_day.items()),
        days_covered=min(days.values()),
        water_m3_per_day=per_day.get("water"),
        electricity_kwh_per_day=per_day.get("electricity"),
        meters=tuple(sorted(u.device_id for u in counted)),
        resets=sum(u.resets for u in counted),
    )


# ---------------------------------------------------------------- reading the store


def meters_by_room(p: Platform) -> dict[str, list[tuple[str, str]]]:
    """Room id → its meters as (device id, entity type): one query over all water and
    electricity meters, cached per platform for :data:`CACHE_SECONDS`."""
    hit = vars(p).get(_CACHE_ATTR)
    now = time.monotonic()
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return dict(hit[1])
    d = store.devices.c
    out: dict[str, list[tuple[str, str]]] = {}
    with p.db.read() as conn:
        rows = conn.execute(
            select(d.device_id, d.entity_type, d.attrs)
            .where(d.entity_type.in_(tuple(COUNTERS)))
            .order_by(d.device_id)
        ).all()
    for device_id, entity_type, attrs in rows:
        values = orjson.loads(attrs) if isinstance(attrs, (str, bytes)) else (attrs or {})
        room = values.get("room_id") if isinstance(values, dict) else None
        if room not in (None, ""):
            out.setdefault(str(room), []).append((str(device_id), str(entity_type)))
    vars(p)[_CACHE_ATTR] = (now, out)
    return dict(out)


def forget_meters(p: Platform) -> None:
    """Drop the cached room → meters map (after registering or moving meters)."""
    vars(p).pop(_CACHE_ATTR, None)


# The counter of each entity type and the times (epoch seconds) are picked out in SQL, so
# Python handles three plain values per row. Ingestion admits only numbers ≥ 0 for these
# attributes (``model.ENTITY_TYPES``); PostgreSQL checks the JSON type anyway (a cast of
# anything else would fail the query), SQLite need not parse each document twice.
_SQLITE_VALUE = " ".join(
    f"WHEN '{etype}' THEN json_extract(attrs, '$.{attr}')" for etype, (attr, _) in COUNTERS.items()
)
_PG_VALUE = " ".join(
    f"WHEN entity_type = '{etype}' AND jsonb_typeof(attrs -> '{attr}') = 'number'"
    f" THEN (attrs ->> '{attr}')::double precision"
    for etype, (attr, _) in COUNTERS.items()
)
_SQLITE_LAST = "json_extract(\"last\", '$')"
_PG_LAST = (
    "CASE WHEN jsonb_typeof(\"last\") = 'number' THEN (\"last\" #>> '{}')::double precision END"
)


def _epoch_sql(column: str, sqlite: bool) -> str:
    if sqlite:  # stored as naive UTC text, which julianday reads
        return f"(julianday({column}) - 2440587.5) * 86400.0"
    return f"EXTRACT(EPOCH FROM {column})::double precision"


def counter_hours(
    p: Platform, meters: Sequence[tuple[str, str]], since: datetime, until: datetime
) -> dict[str, list[HourSample]]:
    """Each meter's counter as hourly samples in ``[since, until]``: compacted hours merged with
    recent raw readings (two queries per :data:`BATCH` meters, whatever their number).

    The same fold as ``readings.aggregate_rows`` + ``Aggregate.merge`` behind
    ``list_readings(agg="hour")``, kept to the numbers a counter needs (lowest, highest, last)
    and with the counter and the times picked out in SQL: a district's meters report hourly,
    and the general path's JSON decoding and per-row objects cost several times as much."""
    attr_of = {m: COUNTERS[t][0] for m, t in meters if t in COUNTERS}
    ids = sorted(attr_of)
    # (device, hour number since the epoch) → [min, max, last, last_at (epoch seconds)]
    acc: dict[tuple[str, int], list[float]] = {}

    def add(key: tuple[str, int], lo: float, hi: float, last: float, at: float) -> None:
        cell = acc.get(key)
        if cell is None:
            acc[key] = [lo, hi, last, at]
            return
        if lo < cell[0]:
            cell[0] = lo
        if hi > cell[1]:
            cell[1] = hi
        if at >= cell[3]:
            cell[2], cell[3] = last, at

    with p.db.read() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = Raw(conn)
        window = {"since": raw.ts(since), "until": raw.ts(until), "hour": raw.ts(hour_of(since))}
        readings_sql = (
            f"SELECT device_id, {_epoch_sql('observed_at', sqlite)},"
            f" CASE {'entity_type ' + _SQLITE_VALUE if sqlite else _PG_VALUE} END FROM readings"
            " WHERE device_id IN ({marks}) AND observed_at >= :since AND observed_at <= :until"
        )
        hourly_sql = (
            f'SELECT device_id, attr, {_epoch_sql("hour_start", sqlite)}, "min", "max",'
            f" {_SQLITE_LAST if sqlite else _PG_LAST}, {_epoch_sql('last_at', sqlite)}"
            " FROM readings_hourly WHERE device_id IN ({marks})"
            " AND attr IN ('volume', 'energy') AND hour_start >= :hour AND hour_start <= :until"
        )
        for lo in range(0, len(ids), BATCH):
            chunk = ids[lo : lo + BATCH]
            marks = ", ".join(f":d{i}" for i in range(len(chunk)))
            params = {**window, **{f"d{i}": d for i, d in enumerate(chunk)}}
            rows = conn.execute(text(readings_sql.replace("{marks}", marks)), params).fetchall()
            for device_id, at, v in rows:
                if type(v) is float or type(v) is int:
                    # julianday's float may fall a hair short of a whole hour: nudge it
                    key = (device_id, int((at + 0.001) // 3600))
                    cell = acc.get(key)
                    if cell is None:
                        acc[key] = [v, v, v, at]
                    else:
                        add(key, v, v, v, at)
            hourly = conn.execute(text(hourly_sql.replace("{marks}", marks)), params).fetchall()
            for device_id, attr, hour, mn, mx, last, at in hourly:
                if attr != attr_of[device_id] or mn is None or mx is None:
                    continue
                last = last if type(last) is float or type(last) is int else mx
                add((device_id, int((hour + 0.001) // 3600)), mn, mx, last, at)
    out: dict[str, list[HourSample]] = {}
    for (device_id, hour), (mn, mx, last, at) in acc.items():
        out.setdefault(device_id, []).append(
            HourSample(hour * 3600.0, float(mn), float(mx), float(last), float(at))
        )
    for samples in out.values():
        samples.sort(key=lambda s: s.hour)
    return out


def utility_evidence(
    p: Platform, room_ids: Iterable[str], rules: GroupRentingRules
) -> dict[str, UtilityEvidence]:
    """Evidence for each of ``room_ids`` whose meters cover at least ``rules.utility_min_days``
    of the last ``rules.utility_days`` (rooms without are absent). Reads only."""
    by_room = meters_by_room(p)
    wanted = {r: by_room[r] for r in dict.fromkeys(room_ids) if r in by_room}
    if not wanted:
        return {}
    until = p.clock.now()
    since = until - timedelta(days=rules.utility_days)
    meters = [m for ms in wanted.values() for m in ms]
    hours = counter_hours(p, meters, since, until)
    out: dict[str, UtilityEvidence] = {}
    for room, ms in wanted.items():
        uses = [meter_use(m, COUNTERS[t][1], hours.get(m, [])) for m, t in ms if t in COUNTERS]
        found = room_evidence(room, uses, rules)
        if found is not None:
            out[room] = found
    return out


__all__ = [
    "CACHE_SECONDS",
    "HourSample",
    "MeterUse",
    "UtilityEvidence",
    "counter_hours",
    "counter_use",
    "forget_meters",
    "implied_residents",
    "meter_use",
    "meters_by_room",
    "room_evidence",
    "utility_evidence",
]
