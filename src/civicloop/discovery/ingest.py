"""The ingestion pipeline: parsed observations → validated, located, stored readings → rules.

One call per batch (a notification, a JSON batch, a thousand CSV rows, a Redis Streams read):

1. **devices** — the registry, from the cache (``service.devices_by_id``). Observations of an
   unregistered device go to the quarantine table, not away; they are replayed by
   ``reprocess_quarantine`` once the device is registered.
2. **validate** — the entity type must be the device's; each known attribute must fit its type
   (``model.ENTITY_TYPES``); moving devices must say where they are. A failing entity is
   reported (field and rule) and the rest of the batch goes on.
3. **locate** — readings that carry a position are put on grids in one vectorised call
   (``GridIndex.locate_indices``); the others take their device's grid.
4. **store** — one write transaction: the batch's keys already stored are looked up once (so
   duplicates are told apart and never evaluated twice), then one ``executemany`` inserts the
   rest with ``ON CONFLICT DO NOTHING`` and the quarantine rows likewise. The caller answers
   only after this commit: an accepted reading is durable.
5. **rules** — after the commit, new readings go to ``discovery.rules.evaluate`` and its alerts
   to ``discovery.alerts.raise_alerts`` (``run_rules=False`` skips them: the benchmark's
   rules-free baseline). Readings are stored exactly once; an alert lost to a
   crash between commit and rules is found again by the next reading of the same condition.

Idempotency key: ``(device_id, observed_at)`` — the entity id and its ``observedAt``. A
redelivered notification, a replayed file or two gateways forwarding the same observation
store one row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import orjson

from civicloop.core.rawsql import Raw
from civicloop.discovery import store
from civicloop.discovery.model import ENTITY_TYPES, Device, Reading, check_attr
from civicloop.discovery.ngsi import (
    BAD_REQUEST_DATA,
    UNKNOWN_TYPE,
    EntityError,
    Observation,
    Parsed,
    parse_time,
)
from civicloop.discovery.service import devices_by_id
from civicloop.ledger.service import Action, record
from civicloop.org.model import SYSTEM_ACTOR, Actor
from civicloop.runtime import Platform

log = logging.getLogger("civicloop.discovery")
UNKNOWN_DEVICE = "unknown_device"


@dataclass
class IngestResult:
    """What became of a batch (the HTTP answer, the CLI's summary, the worker's log line)."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    rejected: int = 0
    alerts: int = 0
    rules: str = "absent"  # absent (nothing new to evaluate, or skipped) | evaluated | failed
    errors: list[EntityError] = field(default_factory=list)
    success: list[str] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        for name in ("received", "stored", "duplicates", "quarantined", "rejected", "alerts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors
        if other.rules != "absent":
            self.rules = other.rules if self.rules != "failed" else "failed"

    def counts(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "rejected": self.rejected,
            "alerts": self.alerts,
            "rules": self.rules,
        }


def ingest(
    p: Platform,
    parsed: Parsed,
    *,
    request_id: str = "-",
    quarantine: bool = True,
    with_ids: bool = False,
    run_rules: bool = True,
) -> IngestResult:
    """Validate, locate, store and evaluate one parsed batch (see the module docstring).

    ``quarantine=False`` reports unknown devices as errors instead (quarantine replays use it);
    ``run_rules=False`` stores without evaluating (the benchmark's rules-free baseline).
    Raises only storage errors (the batch is then not stored at all).
    """
    result = IngestResult(received=len(parsed.observations) + len(parsed.errors))
    result.errors = list(parsed.errors)
    devices = devices_by_id(p, {o.device_id for o in parsed.observations})
    good: list[tuple[Observation, Device]] = []
    unknown: list[Observation] = []
    for obs in parsed.observations:
        device = devices.get(obs.device_id)
        if device is None:
            if quarantine:
                unknown.append(obs)
            else:
                result.errors.append(_error(obs, "device_id", "registered", "unknown device"))
            continue
        problem = _validate(obs, device)
        if problem is not None:
            result.errors.append(problem)
            continue
        good.append((obs, device))
    result.rejected = len(result.errors)
    grids = _locate(p, good)
    now = p.clock.now()
    with p.db.write() as conn:
        raw = Raw(conn)
        fresh, rows = _fresh_rows(raw, good, grids, now)
        result.stored = store.insert_readings(raw, rows)
        result.duplicates = len(good) - result.stored
        result.quarantined = store.insert_quarantine(
            raw, [_quarantine_row(raw, o, now) for o in unknown]
        )
        result.duplicates += len(unknown) - result.quarantined
    if with_ids:
        result.success = [o.device_id for o, _ in good] + [o.device_id for o in unknown]
    if fresh and run_rules:
        _run_rules(p, [_reading(o, d, g) for o, d, g in fresh], result, request_id)
    return result


def _validate(obs: Observation, device: Device) -> EntityError | None:
    if obs.entity_type == UNKNOWN_TYPE:
        obs.entity_type = device.entity_type
    elif obs.entity_type != device.entity_type:
        return _error(
            obs,
            "type",
            "matches_device",
            f"entity type {obs.entity_type} does not match the device's {device.entity_type}",
        )
    spec = ENTITY_TYPES.get(device.entity_type)
    if spec is None:
        return None
    for name, value in obs.attrs.items():
        attr = spec.attrs.get(name)
        if attr is None:
            continue
        if attr.kind == "time" and value is not None:
            try:
                parse_time(value, name)
            except Exception:
                return _error(obs, name, "format", f"{name} must be an ISO-8601 time")
            continue
        rule = check_attr(attr, value)
        if rule is not None:
            return _error(obs, name, rule, _explain(name, attr.kind, rule, attr))
    if spec.needs_location and obs.lon is None:
        return _error(obs, "location", "required", f"a {spec.name} reading must carry its location")
    return None


def _explain(name: str, kind: str, rule: str, attr: Any) -> str:
    if rule == "type":
        return f"{name} must be a {kind}"
    if rule == "minimum":
        return f"{name} must be at least {attr.minimum}"
    if rule == "maximum":
        return f"{name} must be at most {attr.maximum}"
    return f"{name} must be one of {', '.join(sorted(attr.choices or ()))}"


def _error(obs: Observation, fld: str, rule: str, detail: str) -> EntityError:
    return EntityError(obs.index, obs.device_id, BAD_REQUEST_DATA, detail, fld, rule)


def _locate(p: Platform, good: Sequence[tuple[Observation, Device]]) -> list[str | None]:
    """Each reading's grid: its own position's (one vectorised lookup) or its device's."""
    grids: list[str | None] = [d.grid_code for _, d in good]
    moving = [i for i, (o, _) in enumerate(good) if o.lon is not None]
    if moving:
        lons = np.fromiter((good[i][0].lon for i in moving), dtype=np.float64, count=len(moving))
        lats = np.fromiter((good[i][0].lat for i in moving), dtype=np.float64, count=len(moving))
        index = p.grids
        for i, code in zip(moving, index.codes_of(index.locate_indices(lons, lats)), strict=True):
            grids[i] = code
    return grids


def _fresh_rows(
    raw: Raw,
    good: Sequence[tuple[Observation, Device]],
    grids: Sequence[str | None],
    now: datetime,
) -> tuple[list[tuple[Observation, Device, str | None]], list[tuple[Any, ...]]]:
    """The batch minus what is already stored (or repeated within the batch), as rows."""
    if not good:
        return [], []
    stamps = [raw.ts(o.observed_at) for o, _ in good]
    stored = _stored_keys(raw, [o.device_id for o, _ in good], stamps)
    received = raw.ts(now)
    fresh: list[tuple[Observation, Device, str | None]] = []
    rows: list[tuple[Any, ...]] = []
    seen: set[tuple[str, Any]] = set()
    dumps = orjson.dumps
    for (obs, device), stamp, grid in zip(good, stamps, grids, strict=True):
        key = (obs.device_id, stamp)
        if key in stored or key in seen:
            continue
        seen.add(key)
        lon, lat = (obs.lon, obs.lat) if obs.lon is not None else (device.lon, device.lat)
        rows.append(  # in store.READING_COLUMNS order
            (
                obs.device_id,
                obs.entity_type,
                stamp,
                dumps(obs.attrs).decode(),
                lat,
                lon,
                grid,
                obs.notification_id,
                received,
            )
        )
        fresh.append((obs, device, grid))
    return fresh, rows


def _stored_keys(raw: Raw, device_ids: list[str], stamps: list[Any]) -> set[tuple[str, Any]]:
    """(device, observed_at) pairs of this batch that are already stored: one range query per
    ~900 devices over the unique index."""
    out: set[tuple[str, Any]] = set()
    ids = list(dict.fromkeys(device_ids))
    lo_t, hi_t = min(stamps), max(stamps)
    for lo in range(0, len(ids), 900):
        chunk = ids[lo : lo + 900]
        marks = ", ".join(f":d{i}" for i in range(len(chunk)))
        params: dict[str, Any] = {f"d{i}": d for i, d in enumerate(chunk)}
        params.update(lo_t=lo_t, hi_t=hi_t)
        for row in raw.all(
            f"SELECT device_id, observed_at FROM readings WHERE device_id IN ({marks}) "
            "AND observed_at >= :lo_t AND observed_at <= :hi_t",
            params,
        ):
            at = row["observed_at"]
            out.add((row["device_id"], at if raw.is_sqlite else raw.parse_ts(at)))
    return out


def _quarantine_row(raw: Raw, obs: Observation, now: datetime) -> dict[str, Any]:
    return {
        "device_id": obs.device_id,
        "entity_type": obs.entity_type,
        "observed_at": raw.ts(obs.observed_at),
        "attrs": orjson.dumps(obs.attrs).decode(),
        "lat": obs.lat,
        "lon": obs.lon,
        "notification_id": obs.notification_id,
        "reason": UNKNOWN_DEVICE,
        "received_at": raw.ts(now),
    }


def _reading(obs: Observation, device: Device, grid: str | None) -> Reading:
    lon, lat = (obs.lon, obs.lat) if obs.lon is not None else (device.lon, device.lat)
    return Reading(
        obs.device_id,
        obs.entity_type,
        obs.observed_at,
        obs.attrs,
        lat,
        lon,
        grid,
        obs.notification_id,
    )


def _run_rules(p: Platform, readings: list[Reading], result: IngestResult, request_id: str) -> None:
    from civicloop.discovery import alerts as alert_service  # imported here: alerts → cases
    from civicloop.discovery import rules

    try:
        alerts = rules.evaluate(p, readings)
        result.rules = "evaluated"
        if alerts:
            alert_service.raise_alerts(p, alerts, request_id=request_id)
        result.alerts = len(alerts)
    except Exception:
        # The readings are committed; a failing rule must not turn their receipt into an error.
        log.exception(
            "rules failed on a batch of %d readings (request %s)", len(readings), request_id
        )
        result.rules = "failed"


# ---------------------------------------------------------------- the quarantine


def list_quarantine(
    p: Platform, *, device_id: str | None = None, pending: bool = True, limit: int = 100
) -> list[dict[str, Any]]:
    """Quarantined readings (newest first), pending ones by default."""
    from sqlalchemy import select

    q = store.readings_quarantine
    where = []
    if device_id:
        where.append(q.c.device_id == device_id)
    if pending:
        where.append(q.c.reprocessed_at.is_(None))
    with p.db.read() as conn:
        rows = conn.execute(select(q).where(*where).order_by(q.c.id.desc()).limit(limit)).all()
    return [dict(r._mapping) for r in rows]


def reprocess_quarantine(
    p: Platform,
    device_ids: Iterable[str] | None = None,
    *,
    actor: Actor = SYSTEM_ACTOR,
    request_id: str = "-",
    chunk: int = 1000,
) -> IngestResult:
    """Replay pending quarantined readings of (now) registered devices through the pipeline;
    each replayed row is marked ``reprocessed_at`` in the same transaction as the ledger
    entry ``readings.reprocessed``. Rows whose device is still unknown stay pending."""
    from sqlalchemy import select, update

    q = store.readings_quarantine
    wanted = list(device_ids) if device_ids is not None else None
    total = IngestResult()
    last_id = 0
    while True:
        with p.db.read() as conn:
            query = select(q).where(q.c.reprocessed_at.is_(None), q.c.id > last_id)
            if wanted is not None:
                query = query.where(q.c.device_id.in_(wanted))
            rows = conn.execute(query.order_by(q.c.id).limit(chunk)).all()
        if not rows:
            break
        last_id = rows[-1].id
        known = devices_by_id(p, {r.device_id for r in rows})
        rows = [r for r in rows if r.device_id in known]
        if not rows:
            continue
        observations = []
        for i, r in enumerate(rows):
            attrs = orjson.loads(r.attrs) if isinstance(r.attrs, str) else r.attrs
            at = r.observed_at
            observations.append(
                Observation(
                    r.device_id, r.entity_type, at, attrs, r.lon, r.lat, r.notification_id, i
                )
            )
        result = ingest(
            p, Parsed(observations=observations), request_id=request_id, quarantine=False
        )
        total.add(result)
        done = [r.id for r in rows]
        with p.db.write() as conn:
            conn.execute(update(q).where(q.c.id.in_(done)).values(reprocessed_at=p.clock.now()))
            record(
                conn,
                actor,
                [
                    Action(
                        "readings.reprocessed",
                        "readings",
                        "quarantine",
                        after={
                            "rows": len(done),
                            "stored": result.stored,
                            "rejected": result.rejected,
                            "devices": sorted({r.device_id for r in rows})[:50],
                        },
                    )
                ],
                at=p.clock.now(),
                request_id=request_id,
            )
    return total
