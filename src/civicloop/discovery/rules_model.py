"""Discovery rules as values: what a rule file says, how it is checked, and one rule's state machine.

A rule watches one entity type (``WasteContainer``, ``FloodMonitoring`` …) and some of its
attributes, and turns readings into alerts for one catalogue element. Rule files are YAML::

    rules:
      - id: waste.fill.high            # unique, stable: state and alerts are keyed by it
        element: E0104                 # the catalogue element an alert files against
        entity_type: WasteContainer
        attributes: [fillingLevel]     # the index key; a reading without them is never tested
        kind: sustained                # threshold | sustained | rate | count | geofence | no_signal
        when: fillingLevel >= 0.9      # a safe expression (simpleeval, see below)
        clear: fillingLevel < 0.7      # hysteresis: raised at 0.9, cleared only below 0.7
        for: 30m                       # sustained: the condition must hold this long
        min_hold: 10m                  # an alert stays raised at least this long
        active: {between: "22:00-06:00", days: [mon, tue, wed, thu, fri]}
        mode: always                   # normal | emergency | always (emergency variants)
        summary: "垃圾桶满溢 {fillingLevel}"

Expressions are evaluated by simpleeval with a small whitelisted function set (``abs``,
``min``, ``max``, ``round``, ``between``) and no attribute access, subscripts, f-strings,
assignments or imports: the parser refuses those nodes, so a rule file cannot run code. Each
expression is parsed once when the file is loaded. Names are the reading's attributes, the
device context (``device_<attr>``), ``device_id``, ``entity_type``, ``hour``, ``minute``,
``weekday`` (1 = Monday, local time), ``emergency`` and, per kind, ``rate`` (per ``per``) or
``inside``/``distance_m`` (geofence).

The state machine (:func:`advance`) is pure: given a rule, its state for one subject (a
device), whether the condition holds and the time, it says ``raise``, ``clear`` or nothing and
updates the state. Invariants: an alert is raised once and stays raised until its clear
condition holds (and ``min_hold`` has passed) — so a flapping sensor raises one alert; a
``sustained`` timer restarts whenever the condition stops holding.

No SQLAlchemy, FastAPI or pydantic here; shapely only for geofences.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from shapely.geometry import shape

from civicloop.discovery.rules_expr import Expr, compile_expr

RAISE = "raise"
CLEAR = "clear"
DEFAULT_TZ = "Asia/Shanghai"


class RuleKind(StrEnum):
    THRESHOLD = "threshold"  # raise when ``when`` holds
    SUSTAINED = "sustained"  # … holds for ``for``
    RATE = "rate"  # ``when`` over ``rate``: the attribute's change per ``per``
    COUNT = "count"  # ``count`` readings where ``when`` holds within ``within``
    GEOFENCE = "geofence"  # inside/outside a polygon or a route corridor
    NO_SIGNAL = "no_signal"  # silent longer than ``after`` (or the device's interval × 2)


class RuleMode(StrEnum):
    ALWAYS = "always"
    NORMAL = "normal"  # only while no emergency mode covers the place
    EMERGENCY = "emergency"  # only while one does (an emergency threshold variant)


_DAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")
_ELEMENT = re.compile(r"^[CE]\d{4}$")
_KEYS = frozenset(
    {
        "id",
        "element",
        "entity_type",
        "attributes",
        "kind",
        "when",
        "clear",
        "for",
        "min_hold",
        "per",
        "count",
        "within",
        "after",
        "fence",
        "trigger",
        "active",
        "mode",
        "variant_of",
        "severity",
        "summary",
        "description",
    }
)
EARTH_M_PER_DEG = 111_320.0


def parse_duration(text: Any) -> timedelta:
    """``"90s"``, ``"30m"``, ``"12h"``, ``"1d"`` or combinations; ValueError otherwise."""
    m = _DURATION.match(str(text).strip()) if isinstance(text, str | int) else None
    if not m or not any(m.groups()):
        raise ValueError(f"bad duration {text!r}")
    d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    total = timedelta(days=d, hours=h, minutes=mi, seconds=s)
    if total <= timedelta(0):
        raise ValueError(f"duration {text!r} is not positive")
    return total


# -- places and times ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Geofence:
    """A polygon or a route corridor (a LineString buffered by ``width_m`` metres).

    Geometry is kept in a local metric projection (equirectangular about the fence's centre:
    within a district, tens of km across, the error is far below a GPS fix's), so the
    corridor's buffer and the distance are in metres without a projection library.
    """

    geometry: shapely.Geometry = field(repr=False)
    lon0: float
    lat0: float
    kx: float  # metres per degree of longitude at lat0

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Geofence:
        if "corridor" in spec:
            corridor = spec["corridor"]
            line = corridor.get("line") if isinstance(corridor, Mapping) else None
            width = corridor.get("width_m", 50) if isinstance(corridor, Mapping) else None
            if not isinstance(line, list) or len(line) < 2:
                raise ValueError("corridor.line must be a list of at least two [lon, lat]")
            if not isinstance(width, int | float) or width <= 0:
                raise ValueError("corridor.width_m must be a positive number of metres")
            return cls.corridor([(float(x), float(y)) for x, y in line], float(width))
        if "polygon" in spec:
            try:
                geom = shape({"type": "Polygon", "coordinates": spec["polygon"]})
            except Exception as exc:  # shapely raises several types for bad coordinates
                raise ValueError(f"polygon: {exc}") from exc
            return cls.of(geom)
        raise ValueError("a fence is {polygon: [[[lon, lat], …]]} or {corridor: {line, width_m}}")

    @classmethod
    def of(cls, geom: shapely.Geometry, buffer_m: float = 0.0) -> Geofence:
        c = geom.centroid
        lon0, lat0 = float(c.x), float(c.y)
        kx = EARTH_M_PER_DEG * math.cos(math.radians(lat0))
        local = shapely.transform(geom, lambda a: (a - (lon0, lat0)) * (kx, EARTH_M_PER_DEG))
        if buffer_m > 0:
            local = local.buffer(buffer_m)
        if local.is_empty or local.area <= 0:
            raise ValueError("the fence has no area")
        shapely.prepare(local)
        return cls(local, lon0, lat0, kx)

    @classmethod
    def corridor(cls, line: list[tuple[float, float]], width_m: float) -> Geofence:
        return cls.of(shapely.LineString(line), buffer_m=width_m)

    def _point(self, lon: float, lat: float) -> shapely.Point:
        return shapely.Point((lon - self.lon0) * self.kx, (lat - self.lat0) * EARTH_M_PER_DEG)

    def contains(self, lon: float, lat: float) -> bool:
        return bool(self.geometry.intersects(self._point(lon, lat)))

    def distance_m(self, lon: float, lat: float) -> float:
        return float(self.geometry.distance(self._point(lon, lat)))


@dataclass(frozen=True)
class TimeWindow:
    """Local times of day (``start``–``end`` in minutes, may wrap midnight) and weekdays."""

    start: int = 0
    end: int = 24 * 60
    days: frozenset[int] = frozenset(range(1, 8))
    tz: str = DEFAULT_TZ

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> TimeWindow:
        start, end = 0, 24 * 60
        if "between" in spec:
            parts = str(spec["between"]).split("-")
            if len(parts) != 2 or not all(_HHMM.match(x.strip()) for x in parts):
                raise ValueError('between is "HH:MM-HH:MM", e.g. "22:00-06:00"')
            (h1, m1), (h2, m2) = (map(int, x.strip().split(":")) for x in parts)
            start, end = h1 * 60 + m1, h2 * 60 + m2
        days = frozenset(range(1, 8))
        if "days" in spec:
            raw = spec["days"]
            if raw == "weekdays":
                days = frozenset(range(1, 6))
            elif raw == "weekends":
                days = frozenset({6, 7})
            elif isinstance(raw, list) and raw and all(str(d).lower() in _DAYS for d in raw):
                days = frozenset(_DAYS[str(d).lower()] for d in raw)
            else:
                raise ValueError("days is 'weekdays', 'weekends' or a list like [mon, tue]")
        tz = str(spec.get("tz", DEFAULT_TZ))
        try:
            ZoneInfo(tz)
        except Exception as exc:  # ZoneInfoNotFoundError or ValueError for odd keys
            raise ValueError(f"unknown time zone {tz!r}") from exc
        return cls(start, end, days, tz)

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.tz))
        if local.isoweekday() not in self.days:
            return False
        minute = local.hour * 60 + local.minute
        if self.start == self.end:  # "00:00-00:00": the whole day
            return True
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end  # wraps midnight


# -- rules --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One checked rule. See the module docstring for the file format."""

    id: str
    element: str
    entity_type: str
    attributes: tuple[str, ...]
    kind: RuleKind
    when: Expr | None = None
    clear: Expr | None = None
    duration: timedelta | None = None  # sustained "for"; no_signal "after"
    min_hold: timedelta | None = None
    per: timedelta = timedelta(hours=1)  # rate unit
    count: int = 0
    within: timedelta | None = None
    fence: Geofence | None = None
    trigger: str = "outside"  # geofence: raise when the point is outside (or inside)
    window: TimeWindow | None = None
    mode: RuleMode = RuleMode.ALWAYS
    variant_of: str | None = None
    severity: str = "normal"
    summary: str = ""

    def summary_for(self, names: Mapping[str, Any]) -> str:
        """The alert's text: ``summary`` with ``{name}`` placeholders filled (missing → ?)."""
        if not self.summary:
            return f"{self.id}: {self.entity_type} {names.get('device_id', '')}".strip()
        out: list[str] = []
        for literal, name, spec, _conv in string.Formatter().parse(self.summary):
            out.append(literal)
            if name is not None:
                value = names.get(name, "?")
                try:
                    out.append(format(value, spec or ""))
                except (ValueError, TypeError):
                    out.append(str(value))
        return "".join(out)[:500]


@dataclass
class RuleState:
    """One rule's memory for one subject (a device); persisted so a restart keeps it."""

    is_active: bool = False
    pending_since: datetime | None = None
    raised_at: datetime | None = None
    cleared_at: datetime | None = None
    last_value: float | None = None
    last_at: datetime | None = None
    last_seen_at: datetime | None = None
    hits: list[datetime] = field(default_factory=list)
    dirty: bool = False


def advance(rule: Rule, st: RuleState, holds: bool, cleared: bool, at: datetime) -> str | None:
    """Move one subject's state for one reading; ``raise``, ``clear`` or None.

    ``holds`` is the raise condition, ``cleared`` the clear condition (hysteresis: both may be
    false between the two thresholds, and then nothing changes). The caller decides whether
    the change is worth writing (``st.dirty``).
    """
    if rule.kind is RuleKind.COUNT:
        assert rule.within is not None
        horizon = at - rule.within
        st.hits = [h for h in st.hits if h > horizon]
        if holds:
            st.hits.append(at)
        if not st.is_active and len(st.hits) >= rule.count:
            return _raise(st, at)
        if st.is_active and not st.hits and _held(rule, st, at):
            return _clear(st, at)
        return None
    if st.is_active:
        if cleared and _held(rule, st, at):
            return _clear(st, at)
        return None
    if not holds:
        st.pending_since = None
        return None
    if rule.kind is RuleKind.SUSTAINED or (rule.duration and rule.kind is RuleKind.GEOFENCE):
        if st.pending_since is None:
            st.pending_since = at
        if rule.duration is not None and at - st.pending_since < rule.duration:
            return None
    return _raise(st, at)


def _held(rule: Rule, st: RuleState, at: datetime) -> bool:
    return rule.min_hold is None or st.raised_at is None or at - st.raised_at >= rule.min_hold


def _raise(st: RuleState, at: datetime) -> str:
    st.is_active, st.raised_at, st.cleared_at, st.pending_since = True, at, None, None
    return RAISE


def _clear(st: RuleState, at: datetime) -> str:
    st.is_active, st.cleared_at, st.pending_since = False, at, None
    st.hits = []
    return CLEAR


# -- parsing and checking -----------------------------------------------------------------------


def parse_rules(data: Any, source: str = "rules") -> tuple[list[Rule], list[str]]:
    """Check a loaded rule file; return the good rules and one problem line per fault.

    A problem names the place and the rule broken, e.g.
    ``rules.yaml: rules[2].when: name 'x' is … (rule: a safe expression)``.
    """
    problems: list[str] = []
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
        return [], [f"{source}: rules: missing (rule: the file is a mapping with a 'rules' list)"]
    out: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["rules"]):
        where = f"{source}: rules[{i}]"
        found: list[str] = []
        rule = _parse_one(raw, where, found)
        if rule is not None and rule.id in seen:
            found.append(f"{where}.id: {rule.id!r} appears twice (rule: ids are unique)")
        problems.extend(found)
        if rule is not None and not found:
            seen.add(rule.id)
            out.append(rule)
    ids = {r.id: r for r in out}
    for r in out:
        if r.variant_of is not None:
            base = ids.get(r.variant_of)
            if base is None:
                problems.append(
                    f"{source}: {r.id}.variant_of: unknown rule {r.variant_of!r}"
                    " (rule: names a rule of the same files)"
                )
            elif base.entity_type != r.entity_type:
                problems.append(
                    f"{source}: {r.id}.variant_of: {base.id!r} watches {base.entity_type}"
                    " (rule: a variant watches the same entity type)"
                )
    return out, problems


def _problem(where: str, key: str, message: str, rule: str) -> str:
    return f"{where}.{key}: {message} (rule: {rule})"


def _parse_one(raw: Any, where: str, found: list[str]) -> Rule | None:
    if not isinstance(raw, Mapping):
        found.append(f"{where}: expected a mapping (rule: each rule is a mapping)")
        return None
    for key in raw:
        if key not in _KEYS:
            found.append(
                _problem(where, str(key), "unknown key", f"allowed: {', '.join(sorted(_KEYS))}")
            )
    rid = raw.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        found.append(_problem(where, "id", f"bad id {rid!r}", "letters, digits and . _ : -"))
        rid = "?"
    element = raw.get("element")
    if not isinstance(element, str) or not _ELEMENT.match(element):
        found.append(_problem(where, "element", f"bad element {element!r}", "like E0104"))
    entity_type = raw.get("entity_type")
    if not isinstance(entity_type, str) or not entity_type:
        found.append(_problem(where, "entity_type", "missing", "an NGSI-LD entity type"))
    try:
        kind = RuleKind(raw.get("kind", "threshold"))
    except ValueError:
        found.append(
            _problem(where, "kind", f"{raw.get('kind')!r}", f"one of {', '.join(RuleKind)}")
        )
        return None
    attrs = raw.get("attributes", [])
    if isinstance(attrs, str):
        attrs = [attrs]
    if not isinstance(attrs, list) or not all(isinstance(a, str) and a for a in attrs):
        found.append(_problem(where, "attributes", "expected a list of names", "list of text"))
        attrs = []
    exprs: dict[str, Expr | None] = {"when": None, "clear": None}
    for key in exprs:
        if raw.get(key) is not None:
            try:
                exprs[key] = compile_expr(raw[key])
            except ValueError as exc:
                found.append(_problem(where, key, str(exc), "a safe expression"))
    needs_when = kind in (RuleKind.THRESHOLD, RuleKind.SUSTAINED, RuleKind.RATE, RuleKind.COUNT)
    if needs_when and raw.get("when") is None:
        found.append(_problem(where, "when", "missing", f"a {kind} rule needs a condition"))
    durations: dict[str, timedelta | None] = {}
    for key in ("for", "min_hold", "per", "within", "after"):
        value = raw.get(key)
        durations[key] = None
        if value is not None:
            try:
                durations[key] = parse_duration(value)
            except ValueError as exc:
                found.append(_problem(where, key, str(exc), "a duration like 30m, 12h, 1d"))
    if kind is RuleKind.SUSTAINED and durations["for"] is None:
        found.append(_problem(where, "for", "missing", "a sustained rule needs 'for'"))
    if kind is RuleKind.RATE and not attrs:
        found.append(_problem(where, "attributes", "missing", "a rate rule names its attribute"))
    count = raw.get("count", 0)
    if kind is RuleKind.COUNT:
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            found.append(_problem(where, "count", f"{count!r}", "a positive whole number"))
            count = 1
        if durations["within"] is None:
            found.append(_problem(where, "within", "missing", "a count rule needs 'within'"))
    fence = None
    if kind is RuleKind.GEOFENCE:
        spec = raw.get("fence")
        if not isinstance(spec, Mapping):
            found.append(_problem(where, "fence", "missing", "a geofence rule needs 'fence'"))
        else:
            try:
                fence = Geofence.from_spec(spec)
            except ValueError as exc:
                found.append(_problem(where, "fence", str(exc), "a polygon or a corridor"))
    trigger = str(raw.get("trigger", "outside"))
    if trigger not in ("inside", "outside"):
        found.append(_problem(where, "trigger", f"{trigger!r}", "inside or outside"))
    window = None
    if raw.get("active") is not None:
        if not isinstance(raw["active"], Mapping):
            found.append(_problem(where, "active", "expected a mapping", "{between, days, tz}"))
        else:
            try:
                window = TimeWindow.from_spec(raw["active"])
            except ValueError as exc:
                found.append(_problem(where, "active", str(exc), "a time window"))
    try:
        mode = RuleMode(raw.get("mode", "always"))
    except ValueError:
        found.append(_problem(where, "mode", f"{raw.get('mode')!r}", "always|normal|emergency"))
        mode = RuleMode.ALWAYS
    variant_of = raw.get("variant_of")
    if variant_of is not None and mode is not RuleMode.EMERGENCY:
        found.append(_problem(where, "variant_of", "set on a non-emergency rule", "mode emergency"))
    severity = str(raw.get("severity", "normal"))
    if severity not in ("normal", "urgent"):
        found.append(_problem(where, "severity", f"{severity!r}", "normal or urgent"))
    summary = raw.get("summary", "")
    if not isinstance(summary, str):
        found.append(_problem(where, "summary", "expected text", "text with {name} fields"))
        summary = ""
    else:
        try:
            for _lit, name, _spec, _conv in string.Formatter().parse(summary):
                if name is not None and not re.fullmatch(r"[A-Za-z_]\w*", name):
                    found.append(
                        _problem(where, "summary", f"field {{{name}}}", "plain {name} fields only")
                    )
        except ValueError as exc:
            found.append(_problem(where, "summary", str(exc), "text with {name} fields"))
    if found:
        return None
    return Rule(
        id=str(rid),
        element=str(element),
        entity_type=str(entity_type),
        attributes=tuple(attrs),
        kind=kind,
        when=exprs["when"],
        clear=exprs["clear"],
        duration=durations["for"] or durations["after"],
        min_hold=durations["min_hold"],
        per=durations["per"] or timedelta(hours=1),
        count=int(count),
        within=durations["within"],
        fence=fence,
        trigger=trigger,
        window=window,
        mode=mode,
        variant_of=variant_of,
        severity=severity,
        summary=summary,
    )
