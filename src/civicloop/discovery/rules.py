"""The rules engine: readings in, alerts out, with each rule's memory kept in the database.

Where it sits: ingestion hands every accepted batch to :func:`evaluate` (and a periodic tick
calls :func:`check_silence`); the alerts go to ``alerts.raise_alerts``, which files, suppresses
or suggests closing cases. Rules come from YAML files (``rules_model`` describes the format):
the packaged defaults in ``discovery/rules/`` plus any ``*.yaml`` under ``<data dir>/rules/``.

Per platform there is one :class:`Engine`: the checked rules, their index (entity type ×
attribute, so a reading costs only the rules that can match it) and the rule states, loaded
from ``discovery_rule_states`` on first use and written back at the end of each batch — only
the states whose meaning changed (a timer started, an alert raised or cleared, a count window
moved; a rate's last value only with its transitions, so a restart re-primes a rate with one
reading), so a quiet batch writes nothing. One evaluating process per
database is assumed (ingestion's single pipeline or its worker group's leader); a second
process would keep its own timers.

Readings older than the last one a rule has seen from the same device are skipped for that
rule (a late reading must not restart a sustained timer). Emergency variants (``mode:
emergency``) apply only where an emergency mode covers the reading's street or the rule's
scene; ``mode: normal`` rules step aside there.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from civicloop.core.rawsql import Raw
from civicloop.discovery.alert_store import rule_states  # noqa: F401  (registers the tables)
from civicloop.discovery.model import Alert, Device, Reading
from civicloop.discovery.rules_expr import new_evaluator
from civicloop.discovery.rules_index import RuleIndex
from civicloop.discovery.rules_model import (
    CLEAR,
    RAISE,
    Rule,
    RuleKind,
    RuleMode,
    RuleState,
    advance,
)
from civicloop.discovery.service import devices_by_id
from civicloop.runtime import Platform

log = logging.getLogger(__name__)
DEFAULT_RULES_DIR = Path(__file__).parent / "rules"
# A no-signal rule without "after" waits this many of the device's report intervals.
SILENCE_INTERVALS = 2
RAISED = "raised"
# Kinds whose state changes only when the condition holds or the state is live.
_PREFILTERED = frozenset({RuleKind.THRESHOLD, RuleKind.SUSTAINED, RuleKind.COUNT})
CLEARED = "cleared"
_ENGINE_ATTR = "_discovery_rules_engine"


@dataclass
class Engine:
    rules: list[Rule]
    problems: list[str] = field(default_factory=list)
    index: RuleIndex = field(init=False)
    states: dict[tuple[str, str], RuleState] = field(default_factory=dict)
    is_loaded: bool = False
    live: dict[str, set[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.index = RuleIndex(self.rules)
        self._silent_types = {r.entity_type for r in self.rules if r.kind is RuleKind.NO_SIGNAL}
        self._silent = [r for r in self.rules if r.kind is RuleKind.NO_SIGNAL]

    def mark(self, rule_id: str, subject: str) -> None:
        """Keep ``live`` (devices whose state for a rule is raised, timing or counting)."""
        st = self.states.get((rule_id, subject))
        live = self.live.setdefault(rule_id, set())
        if st is not None and (st.is_active or st.pending_since is not None or st.hits):
            live.add(subject)
        else:
            live.discard(subject)

    def state(self, rule_id: str, subject: str) -> RuleState:
        key = (rule_id, subject)
        st = self.states.get(key)
        if st is None:
            st = self.states[key] = RuleState()
        return st


# -- loading -------------------------------------------------------------------------------------


def engine_for(p: Platform) -> Engine:
    """The platform's engine, built on first use from the default and local rule files."""
    eng: Engine | None = getattr(p, _ENGINE_ATTR, None)
    if eng is None:
        from civicloop.discovery.rules_offline import read_rule_files

        rules, problems = read_rule_files([DEFAULT_RULES_DIR, p.settings.data_dir / "rules"])
        for line in problems:
            log.warning("rule file problem: %s", line)
        eng = Engine(rules, problems)
        setattr(p, _ENGINE_ATTR, eng)
    return eng


def use_rules(p: Platform, rules: Sequence[Rule]) -> Engine:
    """Replace the platform's rules (tests, the offline runner, a reload); states persist."""
    eng = Engine(list(rules))
    setattr(p, _ENGINE_ATTR, eng)
    return eng


def _load_states(p: Platform, eng: Engine) -> None:
    if eng.is_loaded:
        return
    with p.db.read() as conn:
        raw = Raw(conn)
        for row in raw.all("SELECT * FROM discovery_rule_states"):
            eng.states[(str(row["rule_id"]), str(row["subject"]))] = RuleState(
                is_active=bool(row["is_active"]),
                pending_since=raw.parse_ts(row["pending_since"]),
                raised_at=raw.parse_ts(row["raised_at"]),
                cleared_at=raw.parse_ts(row["cleared_at"]),
                last_value=row["last_value"],
                last_at=raw.parse_ts(row["last_at"]),
                last_seen_at=raw.parse_ts(row["last_seen_at"]),
                hits=[h for h in (raw.parse_ts(x) for x in raw.parse_js(row["hits"]) or []) if h],
            )
    for rule_id, subject in list(eng.states):
        eng.mark(rule_id, subject)
    eng.is_loaded = True


_UPSERT = (
    "INSERT INTO discovery_rule_states (rule_id, subject, is_active, pending_since, raised_at,"
    " cleared_at, last_value, last_at, last_seen_at, hits, updated_at) VALUES (:rule_id,"
    " :subject, :is_active, :pending_since, :raised_at, :cleared_at, :last_value, :last_at,"
    " :last_seen_at, :hits, :updated_at) ON CONFLICT (rule_id, subject) DO UPDATE SET"
    " is_active = excluded.is_active, pending_since = excluded.pending_since,"
    " raised_at = excluded.raised_at, cleared_at = excluded.cleared_at,"
    " last_value = excluded.last_value, last_at = excluded.last_at,"
    " last_seen_at = excluded.last_seen_at, hits = excluded.hits,"
    " updated_at = excluded.updated_at"
)


def save_states(p: Platform, eng: Engine) -> int:
    """Write the changed states in one transaction; the number written."""
    dirty = [(k, s) for k, s in eng.states.items() if s.dirty]
    if not dirty:
        return 0
    now = p.clock.now()
    with p.db.write() as conn:
        raw = Raw(conn)
        raw.many(
            _UPSERT,
            [
                {
                    "rule_id": rule_id,
                    "subject": subject,
                    "is_active": s.is_active,
                    "pending_since": raw.ts(s.pending_since),
                    "raised_at": raw.ts(s.raised_at),
                    "cleared_at": raw.ts(s.cleared_at),
                    "last_value": s.last_value,
                    "last_at": raw.ts(s.last_at),
                    "last_seen_at": raw.ts(s.last_seen_at),
                    "hits": raw.js([h.isoformat() for h in s.hits]) if s.hits else None,
                    "updated_at": raw.ts(now),
                }
                for (rule_id, subject), s in dirty
            ],
        )
    for _k, s in dirty:
        s.dirty = False
    return len(dirty)


# -- devices -------------------------------------------------------------------------------------


# -- evaluation ------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    """What one reading brings to its rules, computed once per reading."""

    lon: float | None
    lat: float | None
    grid_code: str | None
    device: Device | None


def run_batch(
    eng: Engine,
    readings: Sequence[Reading],
    ctxs: Sequence[_Ctx],
    applies: Callable[[Rule, _Ctx], bool],
    *,
    has_emergency: bool,
) -> list[Alert]:
    """The indexed, prefiltered pass of a batch (the engine lock held by the caller).

    Readings are grouped by entity type and attribute set, so the index is asked once per
    group; then each candidate rule takes its readings in time order. A rule whose condition
    has a numpy form is first run over the batch's columns: only the readings where it may
    hold, and those of devices whose state for the rule is live (raised, timing, counting),
    go through the exact per-reading step — a quiet reading of a quiet device changes no
    state, so skipping it is exact. ``applies`` says whether a mode-bound rule
    (normal/emergency) is in force at a reading's place.
    """
    order = sorted(range(len(readings)), key=lambda i: readings[i].observed_at)
    position = {i: k for k, i in enumerate(order)}
    groups: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for i in order:
        r = readings[i]
        groups.setdefault((r.entity_type, tuple(r.attrs)), []).append(i)
    per_rule: dict[str, tuple[Rule, list[int]]] = {}
    for (etype, attrs), idx in groups.items():
        for rule in eng.index.candidates(etype, attrs):
            if rule.mode is RuleMode.EMERGENCY and not has_emergency:
                continue
            hit = per_rule.get(rule.id)
            if hit is None:
                per_rule[rule.id] = (rule, idx)
            else:  # the rule spans several groups: merge, keep time order
                per_rule[rule.id] = (rule, sorted(hit[1] + idx, key=position.__getitem__))
    ev = new_evaluator()
    names_of: dict[int, dict[str, Any]] = {}
    columns: dict[tuple[int, str], Any] = {}
    devices_of: dict[int, list[str]] = {}
    out: list[Alert] = []
    for rule in eng.rules:
        planned = per_rule.get(rule.id)
        if planned is None:
            continue
        idx = planned[1]
        mask = _prefilter(rule, readings, idx, columns)
        live = eng.live.setdefault(rule.id, set())
        devs = devices_of.get(id(idx))
        if devs is None:
            devs = devices_of[id(idx)] = [readings[i].device_id for i in idx]
        if mask is None:
            todo = list(range(len(idx)))
        else:  # the readings that may hold, and every reading of a live device
            todo = np.flatnonzero(mask).tolist()
            if live:
                todo = sorted(set(todo).union(k for k, d in enumerate(devs) if d in live))
        seen = set(todo)
        while todo:
            k = heapq.heappop(todo)
            i = idx[k]
            r, ctx = readings[i], ctxs[i]
            if rule.mode is not RuleMode.ALWAYS and not applies(rule, ctx):
                continue
            names = names_of.get(i)
            if names is None:
                names = names_of[i] = _names(r, ctx)
            was_live = r.device_id in live
            alert = _step(eng, ev, rule, r, ctx, names)
            eng.mark(rule.id, r.device_id)
            if alert is not None:
                out.append(alert)
            if not was_live and r.device_id in live:  # now live: its later readings count
                for later in range(k + 1, len(idx)):
                    if devs[later] == r.device_id and later not in seen:
                        seen.add(later)
                        heapq.heappush(todo, later)
    return out


def _prefilter(
    rule: Rule, readings: Sequence[Reading], idx: list[int], columns: dict[tuple[int, str], Any]
) -> list[bool] | None:
    """Per reading of ``idx``: may the rule's condition hold? None when it cannot tell."""
    when = rule.when
    if when is None or when.vec is None or rule.kind not in _PREFILTERED:
        return None
    try:
        cols = {}
        for name in when.names:
            key = (id(idx), name)
            col = columns.get(key)
            if col is None:
                col = columns[key] = np.fromiter(
                    (_num(readings[i].attrs[name]) for i in idx), dtype=float, count=len(idx)
                )
            cols[name] = col
        with np.errstate(all="ignore"):
            mask = np.broadcast_to(np.not_equal(when.vec(cols), 0), (len(idx),))
    except (KeyError, TypeError, ValueError):
        return None  # a text value or a non-attribute name: the exact path decides
    return list(mask.tolist())


def _num(value: Any) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, bool | int | float):
        return float(value)
    raise TypeError("not a number")


def evaluate(p: Platform, readings: list[Reading]) -> list[Alert]:
    """Run the rules, the detectors and the weather switch over a batch; the alerts found.

    Changes: rule states (persisted before returning) and, for WeatherAlert readings at or
    above the trigger level, emergency mode. Alerts are returned, not filed: the caller hands
    them to ``alerts.raise_alerts``. A raise and its later clear both come back as alerts; a
    clear has ``evidence["transition"] == "cleared"``.
    """
    from civicloop.discovery import detectors, emergency

    if not readings:
        return []
    eng = engine_for(p)
    devices = devices_by_id(p, {r.device_id for r in readings})
    with eng.lock:
        _load_states(p, eng)
        cover = emergency.coverage(p)
        ctxs: list[_Ctx] = []
        out: list[Alert] = []
        for r in readings:
            dev = devices.get(r.device_id)
            ctx = _Ctx(
                r.lon if r.lon is not None else (dev.lon if dev else None),
                r.lat if r.lat is not None else (dev.lat if dev else None),
                r.grid_code or (dev.grid_code if dev else None),
                dev,
            )
            ctxs.append(ctx)
            if r.entity_type in eng._silent_types:
                out.extend(_heard(eng, r, ctx))

        def applies(rule: Rule, ctx: _Ctx) -> bool:
            on = cover.covers(p, ctx.grid_code, _scene(p, rule))
            return on == (rule.mode is RuleMode.EMERGENCY)

        out.extend(run_batch(eng, readings, ctxs, applies, has_emergency=cover.is_active))
        out.extend(detectors.run(p, eng, readings, devices))
        save_states(p, eng)
    emergency.observe_weather(p, [r for r in readings if r.entity_type == "WeatherAlert"])
    return out


def _scene(p: Platform, rule: Rule) -> str | None:
    element = p.catalogue.element(rule.element)
    return element.scene_code if element else None


def _names(r: Reading, ctx: _Ctx) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    local = r.observed_at.astimezone(ZoneInfo("Asia/Shanghai"))
    names: dict[str, Any] = {
        "device_id": r.device_id,
        "entity_type": r.entity_type,
        "hour": local.hour,
        "minute": local.minute,
        "weekday": local.isoweekday(),
        "grid_code": ctx.grid_code,
    }
    if ctx.device is not None:
        for k, v in ctx.device.attrs.items():
            if isinstance(v, int | float | str | bool) or v is None:
                names[f"device_{k}"] = v
    names.update(r.attrs)
    return names


def _step(
    eng: Engine, ev: Any, rule: Rule, r: Reading, ctx: _Ctx, names: dict[str, Any]
) -> Alert | None:
    at = r.observed_at
    if rule.window is not None and not rule.window.contains(at):
        return None
    st = eng.state(rule.id, r.device_id)
    if st.last_at is not None and at < st.last_at:
        return None  # late reading: never rewinds a timer
    env = names
    try:
        if rule.kind is RuleKind.RATE:
            value = float(r.attrs[rule.attributes[0]])  # type: ignore[arg-type]
            previous, since = st.last_value, st.last_at
            st.last_value, st.last_at = value, at
            if previous is None or since is None or at <= since:
                return None
            env = {**names, "rate": (value - previous) / ((at - since) / rule.per)}
        elif rule.kind is RuleKind.GEOFENCE:
            if ctx.lon is None or ctx.lat is None or rule.fence is None:
                return None
            inside = rule.fence.contains(ctx.lon, ctx.lat)
            env = {**names, "inside": inside, "distance_m": rule.fence.distance_m(ctx.lon, ctx.lat)}
        st.last_at = at
        # Only the expression the state needs is evaluated: the raise condition while quiet
        # (and always for count rules), the clear condition while raised.
        if rule.kind is RuleKind.GEOFENCE:
            holds = env["inside"] == (rule.trigger == "inside")
            if holds and rule.when is not None:
                holds = bool(rule.when(ev, env))
        elif st.is_active and rule.kind is not RuleKind.COUNT:
            holds = False
        else:
            assert rule.when is not None  # checked by parse_rules
            holds = bool(rule.when(ev, env))
        if not st.is_active:
            cleared = False
        elif rule.clear is not None:
            cleared = bool(rule.clear(ev, env))
        elif rule.kind is RuleKind.GEOFENCE or rule.when is None:
            cleared = not holds
        else:
            cleared = not bool(rule.when(ev, env))
    except Exception:
        return None
    before = (st.is_active, st.pending_since, len(st.hits))
    transition = advance(rule, st, holds, cleared, at)
    # A rate's last value is written with its transitions only (a restart re-primes it with
    # one reading): writing it per reading would make every batch a write of every meter.
    st.dirty = st.dirty or before != (st.is_active, st.pending_since, len(st.hits))
    if transition is None:
        return None
    return make_alert(rule, r.device_id, at, ctx.lon, ctx.lat, ctx.grid_code, transition, env)


def make_alert(
    rule: Rule,
    device_id: str | None,
    at: datetime,
    lon: float | None,
    lat: float | None,
    grid_code: str | None,
    transition: str,
    env: dict[str, Any],
    *,
    extra: dict[str, Any] | None = None,
) -> Alert:
    watched = {a: env.get(a) for a in rule.attributes if a in env}
    evidence: dict[str, Any] = {
        "transition": RAISED if transition == RAISE else CLEARED,
        "rule_kind": str(rule.kind),
        "values": watched,
    }
    for k in ("rate", "distance_m"):
        if k in env:
            evidence[k] = round(float(env[k]), 3)
    if extra:
        evidence.update(extra)
    return Alert(
        rule_id=rule.id,
        element_code=rule.element,
        device_id=device_id,
        observed_at=at,
        lat=lat,
        lon=lon,
        grid_code=grid_code,
        summary=rule.summary_for(env),
        severity=rule.severity,
        evidence=evidence,
    )


# -- silence -------------------------------------------------------------------------------------


def _heard(eng: Engine, r: Reading, ctx: _Ctx) -> list[Alert]:
    """A device of a watched type spoke: remember when, and clear its no-signal alert."""
    out: list[Alert] = []
    for rule in eng._silent:
        if rule.entity_type != r.entity_type:
            continue
        st = eng.state(rule.id, r.device_id)
        previous = st.last_seen_at
        if previous is not None and r.observed_at <= previous:
            continue
        st.last_seen_at = r.observed_at
        window = _silence_after(rule, ctx.device)
        # persist last-seen coarsely (a quarter of the window), so a busy device is not a write
        if previous is None or window is None or r.observed_at - previous >= window / 4:
            st.dirty = True
        if st.is_active:
            advance(rule, st, False, True, r.observed_at)
            st.dirty = True
            out.append(
                make_alert(
                    rule, r.device_id, r.observed_at, ctx.lon, ctx.lat, ctx.grid_code, CLEAR, {}
                )
            )
    return out


def _silence_after(rule: Rule, device: Device | None) -> Any:
    from datetime import timedelta

    if rule.duration is not None:
        return rule.duration
    if device is not None and device.report_interval_s:
        return timedelta(seconds=device.report_interval_s * SILENCE_INTERVALS)
    return None


def check_silence(p: Platform, now: datetime) -> list[Alert]:
    """No-signal alerts for devices silent longer than their window (periodic; idempotent).

    A device is watched from its first reading on (a device never heard is the device
    registry's concern). Each silence raises once; the next reading clears it.
    """
    from civicloop.discovery import detectors

    eng = engine_for(p)
    out: list[Alert] = []
    with eng.lock:
        _load_states(p, eng)
        silent = {r.id: r for r in eng._silent}
        subjects = [(k, s) for k, s in eng.states.items() if k[0] in silent]
        devices = devices_by_id(p, {k[1] for k, _ in subjects}) if subjects else {}
        for (rule_id, subject), st in subjects:
            rule = silent[rule_id]
            if st.is_active or st.last_seen_at is None:
                continue
            dev = devices.get(subject)
            window = _silence_after(rule, dev)
            if window is None or now - st.last_seen_at <= window:
                continue
            if rule.window is not None and not rule.window.contains(now):
                continue
            advance(rule, st, True, False, now)
            st.dirty = True
            silent_for = now - st.last_seen_at
            out.append(
                make_alert(
                    rule,
                    subject,
                    now,
                    dev.lon if dev else None,
                    dev.lat if dev else None,
                    dev.grid_code if dev else None,
                    RAISE,
                    {"device_id": subject, "silent_minutes": int(silent_for.total_seconds() // 60)},
                    extra={"last_seen_at": st.last_seen_at.isoformat()},
                )
            )
        out.extend(detectors.check_silence(p, eng, now))
        save_states(p, eng)
    return out


def describe_rules(p: Platform) -> list[dict[str, Any]]:
    """The loaded rules, for the API and the console."""
    eng = engine_for(p)
    return [
        {
            "id": r.id,
            "element": r.element,
            "entity_type": r.entity_type,
            "attributes": list(r.attributes),
            "kind": str(r.kind),
            "when": r.when.source if r.when else None,
            "clear": r.clear.source if r.clear else None,
            "mode": str(r.mode),
            "severity": r.severity,
        }
        for r in eng.rules
    ]


def tick(p: Platform, now: datetime | None = None) -> dict[str, Any]:
    """The periodic part of discovery: silence checks filed as alerts, emergency deadlines
    tightened. For the sweeper thread or ``civicloop rules tick``; idempotent."""
    from civicloop.discovery.alerts import raise_alerts
    from civicloop.discovery.emergency import tighten_deadlines

    now = now or p.clock.now()
    found = check_silence(p, now)
    summary = raise_alerts(p, found, request_id="discovery-tick")
    steps = tighten_deadlines(p, now)
    return {"silent": len(found), "alerts": summary.as_dict(), "steps_tightened": steps}
