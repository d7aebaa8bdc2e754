"""Use cases of ingestion's side of discovery: the device registry and its cache, the readings
query, compaction and the quarantine. (The pipeline itself is ``discovery.ingest``; rules,
alerts and emergency mode are their own modules.)

Invariants:

- A device's grid is the grid its location lies in (``p.grids``), recomputed on every change;
  a device with no location (a district-wide weather feed) has no grid.
- Registry changes are traced in the ledger in their transaction (``device.registered``,
  ``device.updated``, ``device.removed``); readings are data, not actions, and are not.
- ``devices_by_id`` answers from a per-platform cache (the pipeline asks for a thousand
  devices per batch): a change made in this process clears it at once; one made in another
  process is seen within ``DEVICE_CACHE_SECONDS``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update

from civicloop.core.errors import InputError, NotFoundError
from civicloop.core.rawsql import Raw
from civicloop.discovery import store
from civicloop.discovery.model import ENTITY_TYPES, Device
from civicloop.discovery.readings import Aggregate, aggregate_rows, hourly_rows
from civicloop.ledger.service import Action, record
from civicloop.org.model import SYSTEM_ACTOR, Actor
from civicloop.runtime import Platform

DEVICE_CACHE_SECONDS = 30.0
_CACHE_LIMIT = 500_000  # entries; the cache is simply emptied past this
DEFAULT_RAW_DAYS = 30


# ---------------------------------------------------------------- the device cache


class _DeviceCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, tuple[float, Device | None]] = {}


def _cache(p: Platform) -> _DeviceCache:
    # Kept on the platform instance (nothing global: tests run many platforms in one process).
    found = vars(p).get("_discovery_devices")
    if found is None:
        found = vars(p).setdefault("_discovery_devices", _DeviceCache())
    return found


def devices_by_id(p: Platform, ids: Iterable[str]) -> dict[str, Device]:
    """The registered devices among ``ids`` (unknown ids are absent), from the cache."""
    cache = _cache(p)
    now = time.monotonic()
    out: dict[str, Device] = {}
    missing: list[str] = []
    entries = cache.entries
    for device_id in ids:
        hit = entries.get(device_id)
        if hit is None or now - hit[0] > DEVICE_CACHE_SECONDS:
            missing.append(device_id)
        elif hit[1] is not None:
            out[device_id] = hit[1]
    if missing:
        with p.db.read() as conn:
            rows = store.device_rows(Raw(conn), missing)
        found = {r["device_id"]: _device(r) for r in rows}
        with cache.lock:
            if len(entries) + len(missing) > _CACHE_LIMIT:
                entries.clear()
            for device_id in missing:
                device = found.get(device_id)
                entries[device_id] = (now, device)
                if device is not None:
                    out[device_id] = device
    return out


def forget_devices(p: Platform, ids: Iterable[str] | None = None) -> None:
    """Drop cached devices (all when ``ids`` is None), after a registry change; the room →
    meters map built from them goes too."""
    from civicloop.discovery.utility import forget_meters

    forget_meters(p)
    cache = _cache(p)
    with cache.lock:
        if ids is None:
            cache.entries.clear()
        else:
            for device_id in ids:
                cache.entries.pop(device_id, None)


def _device(row: Any) -> Device:
    r = row if isinstance(row, dict) else row._mapping
    attrs = r["attrs"]
    if isinstance(attrs, str):
        attrs = orjson.loads(attrs)
    return Device(
        device_id=r["device_id"],
        entity_type=r["entity_type"],
        lat=r["lat"],
        lon=r["lon"],
        grid_code=r["grid_code"],
        owner_department=r["owner_department"],
        report_interval_s=r["report_interval_s"],
        attrs=attrs or {},
    )


# ---------------------------------------------------------------- registry


@dataclass
class RegisterReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    reprocessed: int = 0
    devices: list[dict[str, Any]] = field(default_factory=list)


def place_device(p: Platform, device: Device) -> Device:
    """Check a device description and put it on its grid (the grid its location lies in).

    Raises InputError naming the field and the rule (unknown type, coordinates out of range,
    a stated grid that is not where the location is, a non-positive report interval).
    """
    if not device.device_id or len(device.device_id) > 200:
        raise InputError("device_id must be 1–200 characters", field="device_id", rule="length")
    if device.entity_type not in ENTITY_TYPES:
        raise InputError(
            f"unknown entity type {device.entity_type!r}",
            field="entity_type",
            rule="one of " + ", ".join(sorted(ENTITY_TYPES)),
        )
    if (device.lon is None) != (device.lat is None):
        raise InputError("give both lon and lat, or neither", field="lon", rule="pair")
    grid = device.grid_code
    if device.lon is not None and device.lat is not None:
        if not (-180 <= device.lon <= 180 and -90 <= device.lat <= 90):
            raise InputError("coordinates out of range", field="lon", rule="range")
        located = p.grids.locate(device.lon, device.lat)
        if grid and located != grid:
            raise InputError(
                f"the location lies in grid {located}, not {grid}",
                field="grid_code",
                rule="matches_location",
            )
        grid = located
    elif grid and p.grid_path(grid) is None:
        raise InputError(f"unknown grid {grid!r}", field="grid_code", rule="exists")
    if device.report_interval_s is not None and device.report_interval_s <= 0:
        raise InputError(
            "report_interval_s must be positive", field="report_interval_s", rule="positive"
        )
    return Device(
        device.device_id,
        device.entity_type,
        device.lat,
        device.lon,
        grid,
        device.owner_department,
        device.report_interval_s,
        dict(device.attrs),
    )


def register_devices(
    p: Platform,
    devices: Sequence[Device],
    *,
    actor: Actor = SYSTEM_ACTOR,
    request_id: str = "-",
    dry_run: bool = False,
) -> RegisterReport:
    """Create or update devices, all or none; then replay their quarantined readings.

    Raises InputError (the first bad device, with ``problems`` listing every one) and writes
    nothing when any device is invalid or names an unknown owner department.
    """
    from civicloop.org import service as org

    placed: list[Device] = []
    problems: list[str] = []
    seen: set[str] = set()
    for i, d in enumerate(devices):
        try:
            if d.device_id in seen:
                raise InputError("the device appears twice", field="device_id", rule="unique")
            seen.add(d.device_id)
            placed.append(place_device(p, d))
        except InputError as exc:
            problems.append(f"#{i + 1} {d.device_id}: {exc.field}: {exc.message}")
    with p.db.read() as conn:
        owners = {d.owner_department for d in placed if d.owner_department}
        unknown = owners - org.existing_departments(conn, owners)
    for d in placed:
        if d.owner_department in unknown:
            problems.append(f"{d.device_id}: owner_department: unknown department")
    if problems:
        raise InputError(problems[0], field="devices", rule="valid", problems=problems)
    report = RegisterReport(dry_run=dry_run, devices=[_public(d) for d in placed])
    now = p.clock.now()
    with p.db.write() as conn:
        t = store.devices
        existing = {
            r.device_id: _device(r)
            for lo in range(0, len(placed), 500)
            for r in conn.execute(
                select(t).where(t.c.device_id.in_([d.device_id for d in placed[lo : lo + 500]]))
            )
        }
        actions: list[Action] = []
        for d in placed:
            before = existing.get(d.device_id)
            values = _values(d)
            if before is None:
                report.created += 1
                if not dry_run:
                    conn.execute(insert(t).values(**values, created_at=now, updated_at=now))
                actions.append(Action("device.registered", "device", d.device_id, after=values))
            elif before != d:
                report.updated += 1
                if not dry_run:
                    conn.execute(
                        update(t)
                        .where(t.c.device_id == d.device_id)
                        .values(**values, updated_at=now)
                    )
                actions.append(
                    Action(
                        "device.updated",
                        "device",
                        d.device_id,
                        before=_values(before),
                        after=values,
                    )
                )
            else:
                report.unchanged += 1
        if dry_run:
            return report
        record(conn, actor, actions, at=now, request_id=request_id)
    forget_devices(p, [d.device_id for d in placed])
    if report.created or report.updated:
        from civicloop.discovery.ingest import reprocess_quarantine

        report.reprocessed = reprocess_quarantine(
            p, [d.device_id for d in placed], actor=actor, request_id=request_id
        ).stored
    return report


def remove_device(p: Platform, device_id: str, *, actor: Actor, request_id: str = "-") -> None:
    """Unregister a device (its readings stay). Raises NotFoundError when it is unknown."""
    with p.db.write() as conn:
        t = store.devices
        row = conn.execute(select(t).where(t.c.device_id == device_id)).first()
        if row is None:
            raise NotFoundError(f"no device {device_id!r}", code="device.not_found")
        conn.execute(delete(t).where(t.c.device_id == device_id))
        record(
            conn,
            actor,
            [Action("device.removed", "device", device_id, before=_values(_device(row)))],
            at=p.clock.now(),
            request_id=request_id,
        )
    forget_devices(p, [device_id])


def read_device(p: Platform, device_id: str) -> Device:
    found = devices_by_id(p, [device_id]).get(device_id)
    if found is None:
        raise NotFoundError(f"no device {device_id!r}", code="device.not_found")
    return found


def list_devices(
    p: Platform,
    *,
    entity_type: str | None = None,
    grid_prefix: str | None = None,
    department: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Device], int]:
    """Devices by type, territory (grid code prefix: a street's or community's code) or
    owner, in id order; and the total."""
    from sqlalchemy import func

    t = store.devices
    where = []
    if entity_type:
        where.append(t.c.entity_type == entity_type)
    if grid_prefix:
        where.append(t.c.grid_code.startswith(grid_prefix, autoescape=True))
    if department:
        where.append(t.c.owner_department == department)
    with p.db.read() as conn:
        total = conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one()
        rows = conn.execute(
            select(t).where(*where).order_by(t.c.device_id).limit(limit).offset(offset)
        ).all()
    return [_device(r) for r in rows], int(total)


def last_seen(p: Platform, device_ids: Iterable[str]) -> dict[str, datetime]:
    """The latest stored ``observedAt`` of each device that has readings (no-signal checks)."""
    from sqlalchemy import func

    ids = list(device_ids)
    r = store.readings
    out: dict[str, datetime] = {}
    with p.db.read() as conn:
        for lo in range(0, len(ids), 500):
            q = (
                select(r.c.device_id, func.max(r.c.observed_at))
                .where(r.c.device_id.in_(ids[lo : lo + 500]))
                .group_by(r.c.device_id)
            )
            for device_id, at in conn.execute(q):
                if at is not None:
                    out[device_id] = _aware(at)
    return out


def _aware(value: Any) -> datetime:
    from datetime import UTC

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _values(d: Device) -> dict[str, Any]:
    return {
        "device_id": d.device_id,
        "entity_type": d.entity_type,
        "name": d.attrs.get("name") if isinstance(d.attrs.get("name"), str) else None,
        "lat": d.lat,
        "lon": d.lon,
        "grid_code": d.grid_code,
        "owner_department": d.owner_department,
        "report_interval_s": d.report_interval_s,
        "attrs": d.attrs,
    }


def _public(d: Device) -> dict[str, Any]:
    return asdict(d)


# ---------------------------------------------------------------- readings: query and retention


def raw_days(p: Platform) -> int:
    """How many days raw readings are kept (``CIVICLOOP_READINGS_RAW_DAYS``, default 30)."""
    value = p.settings.extra.get("readings_raw_days") or os.environ.get(
        "CIVICLOOP_READINGS_RAW_DAYS", str(DEFAULT_RAW_DAYS)
    )
    try:
        days = int(value)
    except ValueError as exc:
        raise InputError(
            "CIVICLOOP_READINGS_RAW_DAYS must be a whole number",
            field="readings_raw_days",
            rule="int",
        ) from exc
    return max(days, 1)


def list_readings(
    p: Platform,
    device_id: str,
    *,
    attr: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    agg: str = "raw",
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """A device's readings in ``[since, until)``: raw (newest last) or hourly aggregates
    (``agg="hour"``: count/min/max/avg/last per attribute and hour, compacted hours and recent
    raw readings alike). Raises InputError for an unknown ``agg`` or an empty range."""
    if agg not in ("raw", "hour"):
        raise InputError("agg must be raw or hour", field="agg", rule="one of raw, hour")
    if since and until and since >= until:
        raise InputError("from must be before to", field="from", rule="before_to")
    r = store.readings
    where = [r.c.device_id == device_id]
    if since:
        where.append(r.c.observed_at >= since)
    if until:
        where.append(r.c.observed_at < until)
    with p.db.read() as conn:
        q = select(r.c.observed_at, r.c.attrs, r.c.grid_code, r.c.lon, r.c.lat).where(*where)
        if agg == "raw":
            rows = conn.execute(q.order_by(r.c.observed_at.desc()).limit(limit)).all()
            out = []
            for at, attrs, grid, lon, lat in reversed(rows):
                values = orjson.loads(attrs) if isinstance(attrs, str) else attrs
                if attr is not None:
                    if attr not in values:
                        continue
                    values = {attr: values[attr]}
                out.append(
                    {
                        "observed_at": _aware(at),
                        "attrs": values,
                        "grid_code": grid,
                        "lon": lon,
                        "lat": lat,
                    }
                )
            return out
        raw_rows = [(device_id, _aware(at), a) for at, a, *_ in conn.execute(q)]
        h = store.readings_hourly
        hw = [h.c.device_id == device_id]
        if attr:
            hw.append(h.c.attr == attr)
        if since:
            hw.append(h.c.hour_start >= since.replace(minute=0, second=0, microsecond=0))
        if until:
            hw.append(h.c.hour_start < until)
        stored = conn.execute(select(h).where(*hw)).all()
    merged = aggregate_rows(raw_rows)
    for row in stored:
        m = row._mapping
        key = (device_id, m["attr"], _aware(m["hour_start"]))
        older = Aggregate.from_row(m, _aware(m["last_at"]))
        merged[key] = older.merge(merged[key]) if key in merged else older
    items = sorted(merged.items(), key=lambda kv: (kv[0][2], kv[0][1]))
    return [
        {"hour": hour, "attr": name, **a.public()}
        for (_, name, hour), a in items
        if attr is None or name == attr
    ][-limit:]


@dataclass
class CompactReport:
    cutoff: datetime
    compacted: int = 0
    hours: int = 0


def compact_readings(
    p: Platform, *, days: int | None = None, chunk: int = 20_000, actor: Actor = SYSTEM_ACTOR
) -> CompactReport:
    """Fold raw readings older than ``days`` (default: ``raw_days``) into hourly aggregates
    and delete them, a chunk per transaction (aggregates and deletion commit together)."""
    cutoff = p.clock.now() - timedelta(days=days if days is not None else raw_days(p))
    report = CompactReport(cutoff=cutoff)
    while True:
        with p.db.write() as conn:
            raw = Raw(conn)
            rows = store.old_readings(raw, cutoff, chunk)
            if not rows:
                break
            parsed = [
                (r["device_id"], raw.parse_ts(r["observed_at"]), raw.parse_js(r["attrs"]))
                for r in rows
            ]
            aggregates = aggregate_rows(parsed)  # type: ignore[arg-type]
            store.upsert_hourly(raw, hourly_rows(aggregates, raw.ts))
            store.delete_readings(raw, [r["id"] for r in rows])
            report.compacted += len(rows)
            report.hours += len(aggregates)
            if len(rows) < chunk:
                record(
                    conn,
                    actor,
                    [
                        Action(
                            "readings.compacted",
                            "readings",
                            "hourly",
                            after={"compacted": report.compacted, "cutoff": cutoff.isoformat()},
                        )
                    ],
                    at=p.clock.now(),
                    request_id="-",
                )
                break
    return report


class Compactor(threading.Thread):
    """Compaction every ``interval`` seconds, for long-running workers (``discovery worker``)."""

    def __init__(self, p: Platform, interval: float) -> None:
        super().__init__(name="readings-compactor", daemon=True)
        self.p, self.interval = p, interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                compact_readings(self.p)
            except Exception:  # logged and retried next round; never fatal for the worker
                import logging

                logging.getLogger("civicloop.discovery").exception("compaction failed")

    def stop(self) -> None:
        self._stop_event.set()
