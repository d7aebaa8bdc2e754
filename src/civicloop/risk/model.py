"""Risk and credit, the rules: scorecards, scores that explain themselves, case outcomes, draws.

A **scorecard** (versioned YAML, one per kind of subject: enterprise, building, room, grid) lists
indicators, each with a ``weight`` (points per unit of the raw value) and a ``cap`` (the most
points, up or down, that indicator may contribute), then ``bands`` (score → low / medium /
high / critical) and, for enterprises, ``grades`` (credit grade A–D by the highest risk score
that still earns it). A score is::

    points(indicator) = clamp(weight × raw value, −cap, +cap)
    score             = clamp(Σ points, 0, 100)

and carries its explanation: every indicator with its raw value, points and cap, so a person
reading "风险 42, 信用 C" can see why.

The **data loop**: a case that ends — closed (结案), voided as unfounded (作废), sent back as not
fixed (返工) or reopened — has an *outcome* (:func:`outcome_of`), and the outcome adds to the raw
indicator values (``risk_facts``) of every *subject* the case touched: the enterprise named by
its credit code, the building or room at its address, its grid.

**Inspection draws** (双随机, a random draw of objects to inspect): each object's chance is tilted
by its risk (``weight = 1 + tilt × score / 100``); the draw is Efraimidis–Spirakis weighted
sampling without replacement from ``random.Random(seed)`` over the population in key order, so
the same seed, population and scores give the same picks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class SubjectKind(StrEnum):
    ENTERPRISE = "enterprise"
    BUILDING = "building"
    ROOM = "room"
    GRID = "grid"


class Outcome(StrEnum):
    RECTIFIED = "rectified"  # 查实并按时整改 — closed normally
    RECTIFIED_LATE = "rectified_late"  # 查实，逾期整改 — closed overdue
    UNRESOLVED = "unresolved"  # 特殊结案：查实但未能整改
    UNFOUNDED = "unfounded"  # 核实不属实 — voided
    RECURRED = "recurred"  # 返工 / 未解决 / 重新打开


# outcome → raw indicator increments applied to every subject of the case
OUTCOME_FACTS: dict[Outcome, dict[str, float]] = {
    Outcome.RECTIFIED: {"violations_confirmed": 1},
    Outcome.RECTIFIED_LATE: {"violations_confirmed": 1, "rectified_late": 1},
    Outcome.UNRESOLVED: {"violations_confirmed": 1, "unresolved": 1},
    Outcome.UNFOUNDED: {"unfounded_reports": 1},
    Outcome.RECURRED: {"recurrences": 1},
}

CASE_ACTIONS = ("case.closed", "case.voided", "case.reworked", "case.not_fixed", "case.reopened")


def outcome_of(action: str, after: Mapping[str, Any] | None) -> Outcome | None:
    """The outcome a ledger entry about a case means, or None when it means none."""
    after = after or {}
    if action == "case.closed":
        kind = str(after.get("closure_type") or "normal")
        return {
            "normal": Outcome.RECTIFIED,
            "overdue": Outcome.RECTIFIED_LATE,
            "special": Outcome.UNRESOLVED,
        }.get(kind, Outcome.RECTIFIED)
    if action == "case.voided":
        return Outcome.UNFOUNDED
    if action in ("case.reworked", "case.not_fixed", "case.reopened"):
        return Outcome.RECURRED
    return None


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    weight: float
    cap: float
    source: str = "cases"  # cases (the data loop) | registry (facts read at scoring time)


@dataclass(frozen=True)
class Scorecard:
    code: str
    version: int
    subject_kind: SubjectKind
    name: str
    indicators: tuple[Indicator, ...]
    bands: tuple[tuple[str, float], ...]  # (band, min score), ascending
    grades: tuple[tuple[str, float], ...] = ()  # (grade, max risk score), best first
    raise_priority_from: str = "high"  # band from which case priority is raised
    body: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class ScorecardError(ValueError):
    """A scorecard file broke a rule; ``path`` says where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def parse_scorecard(body: Mapping[str, Any]) -> Scorecard:
    """Check and build a scorecard from its YAML body; raises ScorecardError naming the path."""

    def need(obj: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in obj:
            raise ScorecardError(f"{path}.{key}", "is required")
        return obj[key]

    try:
        kind = SubjectKind(str(need(body, "subject_kind", "$")))
    except ValueError as exc:
        raise ScorecardError("$.subject_kind", f"must be one of {list(SubjectKind)}") from exc
    version = need(body, "version", "$")
    if not isinstance(version, int) or version < 1:
        raise ScorecardError("$.version", "must be a positive integer")
    indicators = []
    seen: set[str] = set()
    for i, ind in enumerate(need(body, "indicators", "$") or []):
        path = f"$.indicators[{i}]"
        code = str(need(ind, "code", path))
        if code in seen:
            raise ScorecardError(f"{path}.code", f"duplicate indicator {code}")
        seen.add(code)
        weight, cap = need(ind, "weight", path), need(ind, "cap", path)
        if not isinstance(weight, int | float) or not isinstance(cap, int | float) or cap < 0:
            raise ScorecardError(path, "weight must be a number and cap a number ≥ 0")
        indicators.append(
            Indicator(
                code,
                str(ind.get("name", code)),
                float(weight),
                float(cap),
                str(ind.get("source", "cases")),
            )
        )
    if not indicators:
        raise ScorecardError("$.indicators", "needs at least one indicator")
    bands = tuple(
        sorted(
            ((str(b["band"]), float(b["min"])) for b in need(body, "bands", "$")),
            key=lambda x: x[1],
        )
    )
    if not bands or bands[0][1] != 0:
        raise ScorecardError("$.bands", "must start at min 0")
    grades = tuple((str(g["grade"]), float(g["max_risk"])) for g in body.get("grades") or [])
    if grades and [g[1] for g in grades] != sorted(g[1] for g in grades):
        raise ScorecardError("$.grades", "must go from the best grade (lowest max_risk) down")
    raise_from = str(body.get("raise_priority_from", "high"))
    if raise_from not in {b for b, _ in bands}:
        raise ScorecardError("$.raise_priority_from", "must name one of the bands")
    return Scorecard(
        code=str(need(body, "code", "$")),
        version=version,
        subject_kind=kind,
        name=str(body.get("name", "")),
        indicators=tuple(indicators),
        bands=bands,
        grades=grades,
        raise_priority_from=raise_from,
        body=dict(body),
    )


@dataclass(frozen=True)
class Contribution:
    indicator: str
    name: str
    raw: float
    weight: float
    points: float
    cap: float
    is_capped: bool


@dataclass(frozen=True)
class Score:
    score: float
    band: str
    grade: str | None
    contributions: tuple[Contribution, ...]
    scorecard: str
    scorecard_version: int

    def explanation(self) -> dict[str, Any]:
        return {
            "scorecard": self.scorecard,
            "version": self.scorecard_version,
            "score": self.score,
            "band": self.band,
            "grade": self.grade,
            "formula": "score = clamp(Σ clamp(weight × raw, −cap, cap), 0, 100)",
            "indicators": [
                {
                    "indicator": c.indicator,
                    "name": c.name,
                    "raw": c.raw,
                    "weight": c.weight,
                    "points": c.points,
                    "cap": c.cap,
                    "is_capped": c.is_capped,
                }
                for c in self.contributions
            ],
        }


def score(card: Scorecard, facts: Mapping[str, float]) -> Score:
    """Score one subject's raw indicator values on ``card`` (missing values count as 0)."""
    contributions = []
    total = 0.0
    for ind in card.indicators:
        raw = float(facts.get(ind.code, 0.0))
        uncapped = ind.weight * raw
        points = max(-ind.cap, min(ind.cap, uncapped))
        total += points
        contributions.append(
            Contribution(
                ind.code,
                ind.name,
                raw,
                ind.weight,
                round(points, 2),
                ind.cap,
                is_capped=abs(uncapped) > ind.cap,
            )
        )
    value = round(max(0.0, min(100.0, total)), 2)
    band = card.bands[0][0]
    for name, low in card.bands:
        if value >= low:
            band = name
    grade = None
    for g, max_risk in card.grades:
        if value <= max_risk:
            grade = g
            break
    if card.grades and grade is None:
        grade = card.grades[-1][0]
    return Score(value, band, grade, tuple(contributions), card.code, card.version)


def band_rank(card: Scorecard, band: str) -> int:
    names = [b for b, _ in card.bands]
    return names.index(band) if band in names else 0


def weighted_draw(
    population: Sequence[tuple[str, float]], size: int, seed: int, tilt: float
) -> list[dict[str, Any]]:
    """Pick ``size`` of ``population`` ((key, risk score) in key order) without replacement.

    Each key's weight is ``1 + tilt × score / 100``: with tilt 0 the draw is uniform (the plain
    双随机), with tilt 3 a score-100 object is four times as likely as a score-0 one. Returns the
    picks in draw order with their weights.
    """
    rnd = random.Random(seed)
    keyed = []
    for key, risk in population:
        weight = 1.0 + tilt * max(0.0, risk) / 100.0
        u = rnd.random()
        # Efraimidis–Spirakis: the largest u^(1/w) win; in logs to keep precision
        keyed.append((math.log(u if u > 0 else 1e-300) / weight, key, weight, risk))
    keyed.sort(reverse=True)
    return [
        {"key": key, "weight": round(w, 4), "risk": risk, "rank": i + 1}
        for i, (_, key, w, risk) in enumerate(keyed[:size])
    ]
