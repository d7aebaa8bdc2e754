"""The rules engine: readings in, alerts out, with each rule's memory kept in the database.

Where it sits: ingestion hands every accepted batch to :func:`evaluate` (and a periodic tick
calls :func:`check_silence`); the alerts go to ``alerts.raise_alerts``, which files, suppresses
or suggests closing cases. Rules come from YAML files (``rules_model`` describes the format):
the packaged defaults in ``discovery/rules/`` plus any ``*.yaml`` under ``<data dir>/rules/``.

Per platform there is one :class:`Engine`: the checked rules, their index (entity type ×
attribute, so a reading costs only the rules that can match it) and the rule states, loaded
from ``discovery_rule_states`` on first use and written back at the end of each batch — only
the states whose meaning changed (a timer started, an alert raised or cleared, a count window
moved, a rate's last value), so a quiet batch writes nothing. One evaluating process per
database is assumed (ingestion's single pipeline or its worker group's leader); a second
process would keep its own timers.

Readings older than the last one a rule has seen from the same device are skipped for that
rule (a late reading must not restart a sustained timer). Emergency variants (``mode:
emergency``) apply only where an emergency mode covers the reading's street or the rule's
scene; ``mode: normal`` rules step aside there.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from civicloop.core.rawsql import Raw
from civicloop.discovery.alert_store import rule_states  # noqa: F401  (registers the tables)
from civicloop.discovery.model import Alert, Device, Reading
from civicloop.discovery.rules_index import RuleIndex
from civicloop.discovery.rules_model import (
    CLEAR,
    RAISE,
    Rule,
    RuleKind,
    RuleMode,
    RuleState,
    advance,
    new_evaluator,
    parse_rules,
)
from civicloop.runtime import Platform

log = logging.getLogger(__name__)
DEFAULT_RULES_DIR = Path(__file__).parent / "rules"
# A no-signal rule without "after" waits this many of the device's report intervals.
SILENCE_INTERVALS = 2
RAISED = "raised"
CLEARED = "cleared"
_ENGINE_ATTR = "_discovery_rules_engine"


@dataclass
class Engine:
    rules: list[Rule]
    problems: list[str] = field(default_factory=list)
    index: RuleIndex = field(init=False)
    states: dict[tuple[str, str], RuleState] = field(default_factory=dict)
    is_loaded: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.index = RuleIndex(self.rules)
        self._silent_types = {r.entity_type for r in self.rules if r.kind is RuleKind.NO_SIGNAL}
        self._silent = [r for r in self.rules if r.kind is RuleKind.NO_SIGNAL]

    def state(self, rule_id: str, subject: str) -> RuleState:
        key = (rule_id, subject)
        st = self.states.get(key)
        if st is None:
            st = self.states[key] = RuleState()
        return st


# -- loading -------------------------------------------------------------------------------------


def read_rule_files(paths: Iterable[Path]) -> tuple[list[Rule], list[str]]:
    """Every rule of the given files (or directories of ``*.yaml``), and every problem."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        elif path.exists():
            files.append(path)
    rules: list[Rule] = []
    problems: list[str] = []
    for file in files:
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{file.name}: not valid YAML: {exc} (rule: a YAML file)")
            continue
        found, bad = parse_rules(data, file.name)
        rules.extend(found)
        problems.extend(bad)
    seen: set[str] = set()
    unique: list[Rule] = []
    for r in rules:
        if r.id in seen:
            problems.append(f"{r.id}: defined in two files (rule: ids are unique)")
            continue
        seen.add(r.id)
        unique.append(r)
    return unique, problems


def engine_for(p: Platform) -> Engine:
    """The platform's engine, built on first use from the default and local rule files."""
    eng: Engine | None = getattr(p, _ENGINE_ATTR, None)
    if eng is None:
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


def devices_for(p: Platform, ids: Iterable[str]) -> dict[str, Device]:
    """Device context from the device registry when it is there; {} otherwise (the reading's
    own location and grid are used then)."""
    try:  # the device registry is ingestion's part, built in parallel: absent means "none"
        lookup = importlib.import_module("civicloop.discovery.service").devices_by_id
    except (ImportError, AttributeError):
        return {}
    return dict(lookup(p, list(ids)))


# -- evaluation ------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    """What one reading brings to its rules, computed once per reading."""

    lon: float | None
    lat: float | None
    grid_code: str | None
    device: Device | None


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
    devices = devices_for(p, {r.device_id for r in readings})
    with eng.lock:
        _load_states(p, eng)
        cover = emergency.coverage(p)
        ev = new_evaluator()
        out: list[Alert] = []
        for r in readings:
            dev = devices.get(r.device_id)
            ctx = _Ctx(
                r.lon if r.lon is not None else (dev.lon if dev else None),
                r.lat if r.lat is not None else (dev.lat if dev else None),
                r.grid_code or (dev.grid_code if dev else None),
                dev,
            )
            if r.entity_type in eng._silent_types:
                out.extend(_heard(eng, r, ctx))
            candidates = eng.index.candidates(r.entity_type, r.attrs)
            if not candidates:
                continue
            names: dict[str, Any] | None = None
            for rule in candidates:
                if rule.mode is not RuleMode.ALWAYS:
                    on = cover.covers(p, ctx.grid_code, _scene(p, rule))
                    if on != (rule.mode is RuleMode.EMERGENCY):
                        continue
                if names is None:
                    names = _names(r, ctx)
                alert = _step(eng, ev, rule, r, ctx, names)
                if alert is not None:
                    out.append(alert)
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
            st.last_value, st.last_at, st.dirty = value, at, True
            if previous is None or since is None or at <= since:
                return None
            env = {**names, "rate": (value - previous) / ((at - since) / rule.per)}
        elif rule.kind is RuleKind.GEOFENCE:
            if ctx.lon is None or ctx.lat is None or rule.fence is None:
                return None
            inside = rule.fence.contains(ctx.lon, ctx.lat)
            env = {**names, "inside": inside, "distance_m": rule.fence.distance_m(ctx.lon, ctx.lat)}
        st.last_at = at
        if rule.kind is RuleKind.GEOFENCE:
            holds = env["inside"] == (rule.trigger == "inside")
            if holds and rule.when is not None:
                holds = bool(rule.when(ev, env))
        else:
            assert rule.when is not None  # checked by parse_rules
            holds = bool(rule.when(ev, env))
        cleared = bool(rule.clear(ev, env)) if rule.clear is not None else not holds
    except Exception:
        return None
    before = (st.is_active, st.pending_since, len(st.hits))
    transition = advance(rule, st, holds, cleared, at)
    st.dirty = rule.kind is RuleKind.RATE or before != (
        st.is_active,
        st.pending_since,
        len(st.hits),
    )
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
        devices = devices_for(p, {k[1] for k, _ in subjects}) if subjects else {}
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


# -- offline -------------------------------------------------------------------------------------


def run_offline(
    rules: Sequence[Rule], readings: Iterable[Reading], *, is_emergency: bool = False
) -> list[Alert]:
    """Run rules over readings with no database (``civicloop rules test``): fresh states,
    every place in or out of emergency mode as asked; detectors and no-signal need the
    platform and are not run."""
    eng = Engine(list(rules))
    ev = new_evaluator()
    out: list[Alert] = []
    for r in sorted(readings, key=lambda x: x.observed_at):
        ctx = _Ctx(r.lon, r.lat, r.grid_code, None)
        names: dict[str, Any] | None = None
        for rule in eng.index.candidates(r.entity_type, r.attrs):
            if rule.mode is not RuleMode.ALWAYS and is_emergency != (
                rule.mode is RuleMode.EMERGENCY
            ):
                continue
            if names is None:
                names = _names(r, ctx)
            alert = _step(eng, ev, rule, r, ctx, names)
            if alert is not None:
                out.append(alert)
    return out


def read_readings(path: Path) -> list[Reading]:
    """Readings from a JSON file (a list, or ``{"readings": [...]}``) or JSON lines. Each item
    is ``{device_id, entity_type, observed_at, attrs, lon?, lat?}`` or a keyValues entity
    ``{id, type, observedAt, <attr>: value …, location?}``. ValueError names the bad item."""
    import json

    text = path.read_text(encoding="utf-8")
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(data, dict):
        data = data.get("readings", data.get("data", []))
    out: list[Reading] = []
    for i, item in enumerate(data):
        try:
            out.append(_reading(item))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"readings[{i}]: {exc}") from exc
    return out


def _reading(item: dict[str, Any]) -> Reading:
    if "attrs" in item:
        device, etype, at = item["device_id"], item["entity_type"], item["observed_at"]
        attrs = dict(item["attrs"])
        lon, lat = item.get("lon"), item.get("lat")
    else:
        device, etype = item["id"], item["type"]
        at = item.get("observedAt") or item["observed_at"]
        skip = {"id", "type", "observedAt", "observed_at", "location", "@context"}
        attrs = {k: v for k, v in item.items() if k not in skip}
        loc = item.get("location") or {}
        coords = loc.get("coordinates") if isinstance(loc, dict) else None
        lon, lat = (coords[0], coords[1]) if coords else (None, None)
    when = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"observed_at {at!r} has no time zone")
    return Reading(
        device_id=str(device),
        entity_type=str(etype),
        observed_at=when,
        attrs=attrs,
        lon=float(lon) if lon is not None else None,
        lat=float(lat) if lat is not None else None,
        grid_code=item.get("grid_code"),
    )


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
