"""Efficiency evaluation (效能评价): case facts, indicators, composite scores — pure rules.

How the numbers are made, end to end::

    ledger events ──► consumer (cursor = last seq) ──► the cases those events touched
        ──► derive_facts(case, steps, extra reporters)  = one CaseFacts row per case
        ──► rollup cell (day × street × community × department × element × channel)
            += new facts − old facts            (same transaction as the cursor move)
    indicator = Σ numerator counters / Σ denominator counters over the cells of a period

Invariants:

* a case's facts are a pure function of its current state (case row, SLA steps, attached
  reporters), so replaying the ledger, consuming it incrementally, or recomputing from scratch
  all give the same facts, and therefore the same rollups (a cell is the sum of its facts);
* every counter is an integer per case (0/1 flags, or seconds and step counts), so every
  indicator is additive over days, places and departments;
* a case is counted in the cohort of the day it was reported (Asia/Shanghai): "October's
  closure rate" is the share of October's cases closed so far.

Indicators, their formulas (numerator and denominator are arithmetic over counter names),
filters, composite weights and A–E bands are configuration (``indicators.yaml``), because
every locality defines them differently (GB/T 30428.4 and its local variants).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")

# The dimensions of a rollup cell, in primary-key order.
DIMENSIONS = ("day", "street_code", "community_code", "department_code", "element_code", "channel")

PROACTIVE_CHANNELS = frozenset({"patrol", "sensor", "video", "data_rule"})
CITIZEN_CHANNELS = frozenset({"hotline", "app", "web", "open311"})
SATISFIED = frozenset({"satisfied", "basically_satisfied"})
TIMED_STEPS = ("accept", "check", "file", "dispatch", "sign", "handle", "verify", "close")

# Every counter a case contributes (all integers). Flags are 0/1; ``*_s`` are seconds spent in
# completed steps of that kind and ``*_n`` how many such steps completed.
FLAG_COUNTERS = (
    "cases",  # every case
    "valid",  # neither voided nor merged into another case
    "voided",
    "merged",
    "accepted",  # left the "reported" state towards checking/accepted
    "accepted_on_time",
    "filed",  # 立案
    "filed_on_time",
    "to_close",  # 应结案: filed and neither voided nor merged
    "dispatched",  # 派遣
    "dispatched_on_time",
    "returned",  # returned by a department at least once (退单 → not an accurate dispatch)
    "disposed",  # 处置: the handling step completed (feedback given)
    "disposed_on_time",
    "closed",  # 结案
    "closed_on_time",  # closed with every completed step inside its deadline
    "reworked",  # 返工 at least once
    "verify_due",  # 应核查: a verification step completed
    "verified_on_time",
    "extended",  # 延期 requested at least once
    "rated",  # followed up with a satisfaction answer
    "satisfied",  # satisfied or basically satisfied
    "proactive",  # found by patrol, sensor, video or a data rule
    "citizen",  # reported by citizens (hotline, app, web, Open311)
    "missed",  # 漏报: filed, in a grid, but reported by citizens instead of found by patrol
    "repeated",  # reported again by others (attached duplicates) or reopened
)
STEP_COUNTERS = tuple(f"{s}_{k}" for s in TIMED_STEPS for k in ("s", "n"))
COUNTERS = FLAG_COUNTERS + STEP_COUNTERS

# The people columns of a fact row: who completed the step (person-level evaluation).
PERSON_COLUMNS = ("accept_by", "file_by", "dispatch_by", "verify_by", "patrol_by")


class Level(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    DEPARTMENT = "department"
    ELEMENT = "element"
    CHANNEL = "channel"
    PERSON = "person"


# Levels answered from the rollups (column of the rollup table); grid and person read facts.
ROLLUP_LEVEL_COLUMN: dict[Level, str | None] = {
    Level.DISTRICT: None,
    Level.STREET: "street_code",
    Level.COMMUNITY: "community_code",
    Level.DEPARTMENT: "department_code",
    Level.ELEMENT: "element_code",
    Level.CHANNEL: "channel",
}


# ------------------------------------------------------------------------------ case facts


@dataclass(frozen=True)
class StepRow:
    """One SLA step of a case (a ``case_steps`` row)."""

    step: str
    started_at: datetime
    due_at: datetime
    completed_at: datetime | None
    completed_by: str | None


@dataclass(frozen=True)
class CaseFacts:
    """What one case contributes to the numbers: its cell, its people and its counters."""

    case_id: str
    number: str
    day: str
    street_code: str
    community_code: str
    grid_code: str
    department_code: str
    element_code: str
    channel: str
    people: dict[str, str | None]
    counters: dict[str, int]

    @property
    def cell(self) -> tuple[str, ...]:
        return (
            self.day,
            self.street_code,
            self.community_code,
            self.department_code,
            self.element_code,
            self.channel,
        )


def local_day(at: datetime) -> str:
    return at.astimezone(LOCAL).date().isoformat()


def community_of(region_path: str) -> str:
    """The community code in ``/district/street/community/grid/`` ('' when the path is short)."""
    parts = [p for p in region_path.split("/") if p]
    return parts[2] if len(parts) > 2 else ""


def _on_time(steps: Sequence[StepRow]) -> int:
    done = [s for s in steps if s.completed_at is not None]
    if not done:
        return 0
    return int(all(s.completed_at <= s.due_at for s in done if s.completed_at is not None))


def _last_by(steps: Sequence[StepRow]) -> str | None:
    done = [s for s in steps if s.completed_at is not None]
    return done[-1].completed_by if done else None


def derive_facts(case: Mapping[str, Any], steps: Sequence[StepRow], reporters: int) -> CaseFacts:
    """The facts of one case from its row, its SLA steps (in order) and its attached reporters.

    Pure and deterministic: the incremental consumer and the full recompute both call this.
    """
    status = str(case["status"])
    channel = str(case["channel"])
    by_step: dict[str, list[StepRow]] = {}
    for s in steps:
        by_step.setdefault(s.step, []).append(s)

    def has(step: str) -> bool:
        return step in by_step

    def done(step: str) -> bool:
        return any(s.completed_at is not None for s in by_step.get(step, ()))

    voided = int(status == "voided")
    merged = int(status == "merged")
    filed = int(case.get("filed_at") is not None)
    dispatched = int(case.get("dispatched_at") is not None)
    closed = int(case.get("closed_at") is not None)
    accepted = int(has("check") or has("file") or filed)
    c: dict[str, int] = dict.fromkeys(COUNTERS, 0)
    c.update(
        cases=1,
        valid=int(not voided and not merged),
        voided=voided,
        merged=merged,
        accepted=accepted,
        accepted_on_time=accepted and _on_time(by_step.get("accept", ())),
        filed=filed,
        filed_on_time=filed and _on_time(by_step.get("file", ())),
        to_close=int(filed and not voided and not merged),
        dispatched=dispatched,
        dispatched_on_time=dispatched and _on_time(by_step.get("dispatch", ())),
        returned=int(dispatched and int(case.get("return_count") or 0) > 0),
        disposed=int(dispatched and done("handle")),
        disposed_on_time=int(dispatched and done("handle")) and _on_time(by_step.get("handle", ())),
        closed=closed,
        closed_on_time=closed and _on_time([s for s in steps if s.step != "follow_up"]),
        reworked=int(int(case.get("rework_count") or 0) > 0),
        verify_due=int(done("verify")),
        verified_on_time=int(done("verify")) and _on_time(by_step.get("verify", ())),
        extended=int(int(case.get("extension_count") or 0) > 0),
        rated=int(case.get("satisfaction") is not None),
        satisfied=int(case.get("satisfaction") in SATISFIED),
        proactive=int(channel in PROACTIVE_CHANNELS),
        citizen=int(channel in CITIZEN_CHANNELS),
        missed=int(filed and channel in CITIZEN_CHANNELS),
        repeated=int(reporters > 0 or int(case.get("reopen_count") or 0) > 0),
    )
    for name, rows in by_step.items():
        if name not in TIMED_STEPS:
            continue
        for s in rows:
            if s.completed_at is not None:
                c[f"{name}_s"] += max(0, int((s.completed_at - s.started_at).total_seconds()))
                c[f"{name}_n"] += 1
    reported_at = case["reported_at"]
    return CaseFacts(
        case_id=str(case["id"]),
        number=str(case["number"]),
        day=local_day(reported_at),
        street_code=str(case["street_code"]),
        community_code=community_of(str(case["region_path"])),
        grid_code=str(case["grid_code"]),
        department_code=str(case.get("lead_department") or ""),
        element_code=str(case["element_code"]),
        channel=channel,
        people={
            "accept_by": _last_by(by_step.get("accept", ())),
            "file_by": _last_by(by_step.get("file", ())),
            "dispatch_by": _last_by(by_step.get("dispatch", ())),
            "verify_by": _last_by(by_step.get("verify", ())),
            "patrol_by": str(case.get("reporter_id")) if channel == "patrol" else None,
        },
        counters=c,
    )


def diff_cells(
    old: CaseFacts | None, new: CaseFacts | None
) -> dict[tuple[str, ...], dict[str, int]]:
    """Counter deltas per rollup cell when one case's facts change from ``old`` to ``new``."""
    out: dict[tuple[str, ...], dict[str, int]] = {}
    if old is not None:
        cell = out.setdefault(old.cell, dict.fromkeys(COUNTERS, 0))
        for k, v in old.counters.items():
            cell[k] -= v
    if new is not None:
        cell = out.setdefault(new.cell, dict.fromkeys(COUNTERS, 0))
        for k, v in new.counters.items():
            cell[k] += v
    return {k: v for k, v in out.items() if any(v.values())}


# ------------------------------------------------------------------------------ periods


@dataclass(frozen=True)
class Period:
    """An inclusive range of local days, with the label it was asked by."""

    label: str
    start: date
    end: date

    @property
    def first(self) -> str:
        return self.start.isoformat()

    @property
    def last(self) -> str:
        return self.end.isoformat()

    def previous(self) -> Period:
        """The period of the same kind just before (last month for a month)."""
        if re.fullmatch(r"\d{4}-\d{2}", self.label):
            prev = self.start - timedelta(days=1)
            return parse_period(f"{prev.year:04d}-{prev.month:02d}")
        if re.fullmatch(r"\d{4}", self.label):
            return parse_period(str(self.start.year - 1))
        span = (self.end - self.start).days + 1
        s = self.start - timedelta(days=span)
        e = self.start - timedelta(days=1)
        return Period(f"{s.isoformat()}..{e.isoformat()}", s, e)


class PeriodError(ValueError):
    pass


def parse_period(text: str) -> Period:
    """``2026-10`` (month), ``2026`` (year), ``2026-W43`` (ISO week), ``2026-10-05`` (day) or
    ``2026-10-01..2026-10-15`` (inclusive range)."""
    t = (text or "").strip()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{2})", t):
            y, mo = int(m[1]), int(m[2])
            start = date(y, mo, 1)
            nxt = date(y + (mo == 12), mo % 12 + 1, 1)
            return Period(t, start, nxt - timedelta(days=1))
        if re.fullmatch(r"\d{4}", t):
            return Period(t, date(int(t), 1, 1), date(int(t), 12, 31))
        if m := re.fullmatch(r"(\d{4})-W(\d{2})", t):
            start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return Period(t, start, start + timedelta(days=6))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
            d = date.fromisoformat(t)
            return Period(t, d, d)
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", t):
            s, e = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if e < s:
                raise PeriodError("the range ends before it starts")
            if (e - s).days > 3660:
                raise PeriodError("a range is at most ten years")
            return Period(t, s, e)
    except ValueError as exc:
        raise PeriodError(str(exc)) from exc
    raise PeriodError("use YYYY-MM, YYYY, YYYY-Www, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD")


def buckets(period: Period, grain: str) -> list[tuple[str, str, str]]:
    """(label, first day, last day) of each day/week/month of ``period`` (for trends)."""
    out: list[tuple[str, str, str]] = []
    d = period.start
    while d <= period.end:
        if grain == "day":
            s, e, label = d, d, d.isoformat()
        elif grain == "week":
            s = d - timedelta(days=d.weekday())
            e = s + timedelta(days=6)
            y, w, _ = s.isocalendar()
            label = f"{y}-W{w:02d}"
        else:
            s = d.replace(day=1)
            e = date(s.year + (s.month == 12), s.month % 12 + 1, 1) - timedelta(days=1)
            label = f"{s.year:04d}-{s.month:02d}"
        s, e = max(s, period.start), min(e, period.end)
        out.append((label, s.isoformat(), e.isoformat()))
        d = e + timedelta(days=1)
    return out


# ------------------------------------------------------------------------------ indicators

_ALLOWED = (ast.Expression, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Name, ast.Load,
            ast.Constant, ast.UnaryOp, ast.USub)  # fmt: skip


def check_expression(expr: str) -> tuple[str, ...]:
    """The counters an indicator expression uses; ValueError unless it is +, −, × over counters
    and numbers. Division is left out on purpose: an indicator is one ratio, made by the engine.
    """
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"{expr!r} is not an expression") from exc
    names: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ValueError(f"{expr!r}: only + - * over counters and numbers")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ValueError(f"{expr!r}: only numeric constants")
        if isinstance(node, ast.Name):
            if node.id not in COUNTERS:
                raise ValueError(f"{expr!r}: unknown counter {node.id!r}")
            names.append(node.id)
    return tuple(dict.fromkeys(names))


def evaluate(expr: str, sums: Mapping[str, float]) -> float:
    """The value of a checked expression over counter sums (simpleeval: no eval)."""
    from simpleeval import simple_eval  # a safe evaluator instead of a hand-written one

    return float(simple_eval(expr, names={k: sums.get(k, 0) for k in COUNTERS}))


@dataclass(frozen=True)
class Indicator:
    code: str
    name_zh: str
    name_en: str
    numerator: str
    denominator: str
    kind: str = "rate"  # rate (0..1, shown as %) | average (numerator per denominator)
    unit: str = ""
    higher_is_better: bool = True
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    person_column: str | None = None  # the fact column naming the person this evaluates
    standard: str = ""  # the formula's source (GB/T 30428.4 lineage, local rule)

    @property
    def counters(self) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(check_expression(self.numerator) + check_expression(self.denominator))
        )

    def value(self, sums: Mapping[str, float]) -> tuple[float, float, float | None]:
        """(numerator, denominator, value); value None when the denominator is 0."""
        num = evaluate(self.numerator, sums)
        den = evaluate(self.denominator, sums)
        return num, den, (num / den if den else None)

    def score(self, value: float | None) -> float | None:
        """0–100 for composites: a rate as percent (inverted when lower is better)."""
        if value is None:
            return None
        pct = max(0.0, min(1.0, value)) * 100
        return pct if self.higher_is_better else 100 - pct


@dataclass(frozen=True)
class Component:
    """One weighted part of a composite: an indicator, or a qualitative input (0–100)."""

    source: str  # "indicator" | "qualitative"
    code: str
    weight: float


@dataclass(frozen=True)
class Composite:
    level: str  # the level it rates: street, community, grid, department, district, person …
    role: str | None
    components: tuple[Component, ...]


@dataclass(frozen=True)
class Band:
    grade: str
    min_score: float


@dataclass(frozen=True)
class KpiConfig:
    indicators: dict[str, Indicator]
    composites: dict[str, Composite]
    bands: tuple[Band, ...]

    def indicator(self, code: str) -> Indicator | None:
        return self.indicators.get(code)

    def grade(self, score: float | None) -> str | None:
        if score is None:
            return None
        for b in sorted(self.bands, key=lambda b: -b.min_score):
            if score >= b.min_score:
                return b.grade
        return self.bands[-1].grade if self.bands else None


def parse_config(doc: Mapping[str, Any]) -> KpiConfig:
    """Validate the YAML document; ValueError naming the first bad entry."""
    indicators: dict[str, Indicator] = {}
    for code, spec in (doc.get("indicators") or {}).items():
        if not isinstance(spec, Mapping):
            raise ValueError(f"indicator {code}: must be a mapping")
        filters = {
            str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v]))
            for k, v in (spec.get("filters") or {}).items()
        }
        for k in filters:
            if k not in DIMENSIONS[1:]:
                raise ValueError(f"indicator {code}: cannot filter on {k!r}")
        person = spec.get("person")
        if person is not None and person not in PERSON_COLUMNS:
            raise ValueError(f"indicator {code}: unknown person column {person!r}")
        ind = Indicator(
            code=str(code),
            name_zh=str(spec.get("name_zh", code)),
            name_en=str(spec.get("name_en", code)),
            numerator=str(spec["numerator"]),
            denominator=str(spec["denominator"]),
            kind=str(spec.get("kind", "rate")),
            unit=str(spec.get("unit", "")),
            higher_is_better=bool(spec.get("higher_is_better", True)),
            filters=filters,
            person_column=person,
            standard=str(spec.get("standard", "")),
        )
        try:
            ind.counters  # noqa: B018  (validates both expressions)
        except ValueError as exc:
            raise ValueError(f"indicator {code}: {exc}") from exc
        if ind.kind not in ("rate", "average"):
            raise ValueError(f"indicator {code}: kind must be rate or average")
        indicators[ind.code] = ind
    composites: dict[str, Composite] = {}
    for name, spec in (doc.get("composites") or {}).items():
        parts: list[Component] = []
        for comp in spec.get("components") or []:
            if "indicator" in comp:
                if comp["indicator"] not in indicators:
                    raise ValueError(f"composite {name}: unknown indicator {comp['indicator']}")
                parts.append(Component("indicator", str(comp["indicator"]), float(comp["weight"])))
            else:
                parts.append(
                    Component("qualitative", str(comp["qualitative"]), float(comp["weight"]))
                )
        total = sum(c.weight for c in parts)
        if parts and abs(total - 1.0) > 1e-6:
            raise ValueError(f"composite {name}: weights add up to {total:g}, not 1")
        composites[str(name)] = Composite(
            level=str(spec.get("level", name)), role=spec.get("role"), components=tuple(parts)
        )
    bands = tuple(
        Band(str(g), float(v))
        for g, v in sorted((doc.get("bands") or {}).items(), key=lambda kv: -float(kv[1]))
    )
    return KpiConfig(indicators, composites, bands)


MIN_COVERAGE = 0.5


@dataclass(frozen=True)
class ScoreLine:
    source: str
    code: str
    weight: float
    score: float | None


def composite_score(
    composite: Composite,
    indicator_scores: Mapping[str, float | None],
    qualitative: Mapping[str, float | None],
) -> tuple[float | None, list[ScoreLine]]:
    """The weighted score 0–100; a missing part (no data) is left out and the remaining weights
    are renormalised, so an object is not punished for a number it cannot have — but with less
    than ``MIN_COVERAGE`` of the weight present there is no score (too little to rate)."""
    lines: list[ScoreLine] = []
    total_w = 0.0
    total = 0.0
    for comp in composite.components:
        got = (indicator_scores if comp.source == "indicator" else qualitative).get(comp.code)
        lines.append(ScoreLine(comp.source, comp.code, comp.weight, got))
        if got is not None:
            total_w += comp.weight
            total += comp.weight * max(0.0, min(100.0, float(got)))
    if total_w <= 0 or total_w < MIN_COVERAGE - 1e-9:
        return None, lines
    return round(total / total_w, 2), lines


def sum_counters(rows: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = dict.fromkeys(COUNTERS, 0.0)
    for r in rows:
        for k in COUNTERS:
            out[k] += float(r.get(k) or 0)
    return out


def utc(at: datetime) -> datetime:
    return at.astimezone(UTC)
