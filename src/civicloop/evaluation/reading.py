"""Reading the numbers: values, rankings, trends, comparisons and the cases behind a number.

Who sees what (:func:`scope_of`): the operations centre, supervisors, auditors and admins see
everything; a street (or community, grid) sees its territory; a department handler its own
departments' numbers; citizens and machine clients nothing. A request outside one's scope is
refused (403) rather than silently narrowed, so a number is never mislabelled.

Region, department, element and channel levels read only the rollups (the smallest grain that
has the columns asked for); grid and person levels and drill-downs read the per-case facts of
the period asked for.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection

from civicloop.core.errors import ForbiddenError, InputError
from civicloop.evaluation import store
from civicloop.evaluation.model import (
    COUNTERS,
    LOCAL,
    ROLLUP_LEVEL_COLUMN,
    Indicator,
    KpiConfig,
    Level,
    Period,
    PeriodError,
    buckets,
    check_expression,
    composite_score,
    parse_period,
)
from civicloop.evaluation.service import config
from civicloop.org.model import Actor, Role
from civicloop.runtime import Platform

GLOBAL_ROLES = frozenset(
    {
        Role.OPERATOR,
        Role.DISPATCHER,
        Role.SHIFT_CHIEF,
        Role.DISTRICT_SUPERVISOR,
        Role.AUDITOR,
        Role.ADMIN,
    }
)
# A qualitative provider: (platform, level, period, codes) → score 0–100 per code.
Provider = Callable[[Platform, str, Period, Sequence[str]], Mapping[str, float]]


@dataclass(frozen=True)
class Scope:
    is_global: bool
    where: dict[str, tuple[str, ...]]


def scope_of(actor: Actor) -> Scope:
    """The part of the numbers an actor may read (ForbiddenError for none)."""
    parts = [x for x in actor.region_path.split("/") if x]
    if actor.role in GLOBAL_ROLES and len(parts) <= 1:
        return Scope(True, {})
    if actor.role is Role.DEPARTMENT_HANDLER and actor.department_ids:
        return Scope(False, {"department_code": tuple(sorted(actor.department_ids))})
    if actor.role in GLOBAL_ROLES | {Role.STREET_ADMIN, Role.GRID_WORKER} and len(parts) >= 2:
        dim = ("street_code", "community_code", "grid_code")[min(len(parts), 4) - 2]
        return Scope(False, {dim: (parts[-1] if len(parts) <= 4 else parts[3],)})
    raise ForbiddenError("efficiency numbers are for staff", role=str(actor.role))


def period_of(text: str) -> Period:
    try:
        return parse_period(text)
    except PeriodError as exc:
        raise InputError(str(exc), field="period", rule="period_format") from exc


def level_of(text: str) -> Level:
    try:
        return Level(text)
    except ValueError as exc:
        raise InputError(
            f"level must be one of {', '.join(level.value for level in Level)}",
            field="level",
            rule="enum",
        ) from exc


def indicator_of(cfg: KpiConfig, code: str) -> Indicator:
    ind = cfg.indicator(code)
    if ind is None:
        raise InputError(f"unknown indicator {code!r}", field="indicator", rule="known_indicator")
    return ind


def _level_column(level: Level, ind: Indicator | None) -> str | None:
    if level is Level.GRID:
        return "grid_code"
    if level is Level.PERSON:
        if ind is None or ind.person_column is None:
            raise InputError(
                "this indicator does not rate persons", field="level", rule="person_indicator"
            )
        return ind.person_column
    return ROLLUP_LEVEL_COLUMN[level]


def _merge_where(
    scope: Scope, asked: Mapping[str, Sequence[str]], ind: Indicator | None
) -> dict[str, tuple[str, ...]]:
    where = {k: tuple(v) for k, v in asked.items()}
    for dim, allowed in ind.filters.items() if ind else ():
        where[dim] = tuple(x for x in where.get(dim, allowed) if x in allowed)
    for dim, allowed in scope.where.items():
        if dim in where:
            if not set(where[dim]) <= set(allowed):
                raise ForbiddenError("outside your scope", dimension=dim)
        else:
            where[dim] = allowed
    return where


def _grain(columns: set[str], period: Period | None = None) -> str | None:
    """The smallest rollup with these columns; a monthly one when ``period`` is whole months
    (never for a per-day breakdown, which passes no period)."""
    whole_months = (
        period is not None and period.start.day == 1 and (period.end + timedelta(days=1)).day == 1
    )
    order = ("region_month", "department_month", "element_month") if whole_months else ()
    for grain in (*order, "region", "department", "element", "cell"):
        if columns <= set(store.GRAINS[grain]):
            return grain
    return None


def _sums(
    conn: Connection,
    counters: Sequence[str],
    period: Period,
    where: Mapping[str, Sequence[str]],
    group_by: str | None,
) -> list[dict[str, Any]]:
    cols = set(where) | ({group_by} if group_by else set())
    grain = _grain(cols | {"day"}, period)
    groups = (group_by,) if group_by else ()
    if grain is not None:
        return store.sum_rollup(conn, grain, counters, period.first, period.last, where, groups)
    return store.sum_facts(conn, counters, period.first, period.last, where, groups)


def _value_row(ind: Indicator, sums: Mapping[str, Any]) -> dict[str, Any]:
    clean = {k: float(sums.get(k) or 0) for k in ind.counters}
    num, den, value = ind.value(clean)
    return {
        "numerator": num,
        "denominator": den,
        "value": None if value is None else round(value, 6),
        "score": None if ind.kind != "rate" else ind.score(value),
    }


def values(
    p: Platform,
    actor: Actor,
    indicator: str,
    period: str,
    level: str = "district",
    code: str | None = None,
) -> dict[str, Any]:
    """One indicator for one object (``code``) or for every object of the level."""
    cfg = config()
    ind = indicator_of(cfg, indicator)
    per = period_of(period)
    lvl = level_of(level)
    scope = scope_of(actor)
    if lvl is Level.DISTRICT and not scope.is_global:
        raise ForbiddenError("district totals are for the operations centre")
    col = _level_column(lvl, ind)
    asked = {col: [code]} if (col and code) else {}
    where = _merge_where(scope, asked, ind)
    with p.db.read() as conn:
        rows = _sums(conn, ind.counters, per, where, None if code or col is None else col)
    items = []
    for r in rows:
        if col and not code and r.get(col) is None:
            continue
        items.append({"code": code if code else r.get(col) if col else None, **_value_row(ind, r)})
    items.sort(key=lambda x: (x["value"] is None, -(x["value"] or 0)))
    return {
        "indicator": _describe(ind),
        "period": {"label": per.label, "first": per.first, "last": per.last},
        "level": str(lvl),
        "code": code,
        "items": items,
    }


def _describe(ind: Indicator) -> dict[str, Any]:
    return {
        "code": ind.code,
        "name_zh": ind.name_zh,
        "name_en": ind.name_en,
        "kind": ind.kind,
        "unit": ind.unit,
        "numerator": ind.numerator,
        "denominator": ind.denominator,
        "higher_is_better": ind.higher_is_better,
        "standard": ind.standard,
    }


def indicators_list() -> list[dict[str, Any]]:
    return [_describe(i) for i in config().indicators.values()]


def trend(
    p: Platform,
    actor: Actor,
    indicator: str,
    period: str,
    grain: str = "day",
    level: str = "district",
    code: str | None = None,
) -> dict[str, Any]:
    """The indicator per day, week or month of the period (one query over the rollups)."""
    if grain not in ("day", "week", "month"):
        raise InputError("grain must be day, week or month", field="grain", rule="enum")
    cfg = config()
    ind = indicator_of(cfg, indicator)
    per = period_of(period)
    lvl = level_of(level)
    scope = scope_of(actor)
    if lvl is Level.DISTRICT and not scope.is_global:
        raise ForbiddenError("district totals are for the operations centre")
    col = _level_column(lvl, ind)
    if col and not code:
        raise InputError("give the code of the object", field="code", rule="required")
    where = _merge_where(scope, {col: [code]} if col and code else {}, ind)
    with p.db.read() as conn:
        grain_table = _grain(set(where) | {"day"})
        if grain_table is not None:
            rows = store.sum_rollup(
                conn, grain_table, ind.counters, per.first, per.last, where, ("day",)
            )
        else:
            rows = store.sum_facts(conn, ind.counters, per.first, per.last, where, ("day",))
    by_day = {str(r["day"]): r for r in rows}
    points = []
    for label, first, last in buckets(per, grain):
        acc: dict[str, float] = dict.fromkeys(ind.counters, 0.0)
        for day, r in by_day.items():
            if first <= day <= last:
                for k in ind.counters:
                    acc[k] += float(r.get(k) or 0)
        points.append({"label": label, "first": first, "last": last, **_value_row(ind, acc)})
    return {"indicator": _describe(ind), "grain": grain, "level": str(lvl), "code": code,
            "points": points}  # fmt: skip


def compare(
    p: Platform, actor: Actor, indicator: str, period: str, level: str, code: str | None = None
) -> dict[str, Any]:
    """This period vs the one before, and (for a street or community) the object vs the
    district. The district baseline is an aggregate, shown to every scope as a reference."""
    cfg = config()
    ind = indicator_of(cfg, indicator)
    per = period_of(period)
    lvl = level_of(level)
    scope = scope_of(actor)
    col = _level_column(lvl, ind)
    if col and not code:
        raise InputError("give the code of the object", field="code", rule="required")
    if lvl is Level.DISTRICT and not scope.is_global:
        raise ForbiddenError("district totals are for the operations centre")
    where = _merge_where(scope, {col: [code]} if col and code else {}, ind)
    base_where = _merge_where(Scope(True, {}), {}, ind)
    with p.db.read() as conn:
        now = _sums(conn, ind.counters, per, where, None)
        prev = _sums(conn, ind.counters, per.previous(), where, None)
        district = _sums(conn, ind.counters, per, base_where, None)
    cur, before, base = (_value_row(ind, rows[0] if rows else {}) for rows in (now, prev, district))

    def delta(a: dict[str, Any], b: dict[str, Any]) -> float | None:
        if a["value"] is None or b["value"] is None:
            return None
        return round(a["value"] - b["value"], 6)

    return {
        "indicator": _describe(ind),
        "level": str(lvl),
        "code": code,
        "period": per.label,
        "current": cur,
        "previous": {"period": per.previous().label, **before},
        "change": delta(cur, before),
        "district": base,
        "versus_district": delta(cur, base),
    }


def _predicate(ind: Indicator, part: str) -> str:
    expr = ind.numerator if part == "numerator" else ind.denominator
    check_expression(expr)  # only counters, numbers, + - *: safe to splice as SQL
    return f"({ast.unparse(ast.parse(expr, mode='eval'))}) <> 0"


def drilldown(
    p: Platform,
    actor: Actor,
    indicator: str,
    period: str,
    level: str = "district",
    code: str | None = None,
    part: str = "numerator",
    *,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """The cases behind a number: those whose facts add to its numerator (or denominator).

    For flag indicators the count of cases equals the number shown; for averages the cases
    listed are those contributing time.
    """
    if part not in ("numerator", "denominator"):
        raise InputError("part must be numerator or denominator", field="part", rule="enum")
    if not 1 <= limit <= 1000:
        raise InputError("limit is 1..1000", field="limit", rule="range")
    if offset < 0:
        raise InputError("offset is ≥ 0", field="offset", rule="range")
    cfg = config()
    ind = indicator_of(cfg, indicator)
    per = period_of(period)
    lvl = level_of(level)
    scope = scope_of(actor)
    col = _level_column(lvl, ind)
    if col and not code:
        raise InputError("give the code of the object", field="code", rule="required")
    if lvl is Level.DISTRICT and not scope.is_global:
        raise ForbiddenError("district totals are for the operations centre")
    where = _merge_where(scope, {col: [code]} if col and code else {}, ind)
    with p.db.read() as conn:
        total, rows = store.facts_cases(
            conn, _predicate(ind, part), per.first, per.last, where, limit=limit, offset=offset
        )
    return {
        "indicator": ind.code,
        "part": part,
        "period": per.label,
        "level": str(lvl),
        "code": code,
        "total": total,
        "limit": limit,
        "offset": offset,
        "cases": rows,
    }


def _default_providers() -> dict[str, Provider]:
    return {"review": review_provider, "reply_quality": reply_quality_provider}


def reply_quality_provider(
    p: Platform, level: str, period: Period, codes: Sequence[str]
) -> Mapping[str, float]:
    """Departments' mean reply-quality score (0–1 → 0–100) over citizen cases closed in the
    period, from the supervision context; nothing for other levels or when it is absent."""
    if level != Level.DEPARTMENT:
        return {}
    try:
        from civicloop.supervision.service import reply_quality_scores
    except ImportError:  # a build without the supervision context
        return {}
    since = datetime.combine(period.start, time(0), LOCAL)
    until = datetime.combine(period.end + timedelta(days=1), time(0), LOCAL)
    got = reply_quality_scores(p, since.astimezone(UTC), until.astimezone(UTC))
    out: dict[str, float] = {}
    for code in codes:
        score = (got.get(code) or {}).get("score")
        if score is not None:
            out[code] = round(float(score) * 100, 2)
    return out


def review_provider(
    p: Platform, level: str, period: Period, codes: Sequence[str]
) -> Mapping[str, float]:
    with p.db.read() as conn:
        got = store.review_scores(conn, period.label, level)
    return {c: got[c] for c in codes if c in got}


def rankings(
    p: Platform,
    actor: Actor,
    period: str,
    composite: str = "street",
    *,
    providers: Mapping[str, Provider] | None = None,
) -> dict[str, Any]:
    """Every object of a composite's level, by composite score (best first), with A–E grades
    and each part's score. Qualitative parts come from ``providers`` (supervisors' reviews and
    reply quality by default)."""
    cfg = config()
    comp = cfg.composites.get(composite)
    if comp is None:
        raise InputError(
            f"unknown composite {composite!r}; one of {', '.join(cfg.composites)}",
            field="composite",
            rule="known_composite",
        )
    per = period_of(period)
    scope = scope_of(actor)
    lvl = level_of(comp.level)
    if lvl is Level.DISTRICT and not scope.is_global:
        raise ForbiddenError("district totals are for the operations centre")
    scores: dict[str, dict[str, float | None]] = {}
    raw_values: dict[str, dict[str, Any]] = {}
    # one query per (level column, filters): the parts' counters are summed together
    groups: dict[tuple[str | None, str], list[Indicator]] = {}
    for part in comp.components:
        if part.source == "indicator":
            ind = cfg.indicators[part.code]
            group = (_level_column(lvl, ind), repr(sorted(ind.filters.items())))
            groups.setdefault(group, []).append(ind)
    with p.db.read() as conn:
        for (col, _), inds in groups.items():
            where = _merge_where(scope, {}, inds[0])
            counters = tuple(dict.fromkeys(c for ind in inds for c in ind.counters))
            for r in _sums(conn, counters, per, where, col):
                key = str(r.get(col)) if col else "district"
                if col and r.get(col) in (None, ""):  # "" = no department yet: not rated
                    continue
                for ind in inds:
                    row = _value_row(ind, r)
                    scores.setdefault(key, {})[ind.code] = row["score"]
                    raw_values.setdefault(key, {})[ind.code] = row["value"]
    codes = sorted(scores)
    qual: dict[str, dict[str, float]] = {}
    for name, fn in (providers if providers is not None else _default_providers()).items():
        if any(c.source == "qualitative" and c.code == name for c in comp.components):
            for code, s in fn(p, str(lvl), per, codes).items():
                qual.setdefault(code, {})[name] = float(s)
    items: list[dict[str, Any]] = []
    for code in codes:
        score, lines = composite_score(comp, scores[code], qual.get(code, {}))
        items.append(
            {
                "code": code,
                "score": score,
                "grade": cfg.grade(score),
                "parts": [
                    {"source": ln.source, "code": ln.code, "weight": ln.weight, "score": ln.score}
                    for ln in lines
                ],
                "values": raw_values.get(code, {}),
            }
        )
    items.sort(key=lambda x: (x["score"] is None, -float(x["score"] or 0), str(x["code"])))
    for rank, item in enumerate(items, 1):
        item["rank"] = rank
    return {"composite": composite, "level": str(lvl), "role": comp.role, "period": per.label,
            "items": items}  # fmt: skip


def dashboard(p: Platform, actor: Actor, period: str, level: str = "district",
              code: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Every rate indicator for one object in one call (the console's first screen)."""
    cfg = config()
    out = []
    for ind in cfg.indicators.values():
        if level == "person" and ind.person_column is None:
            continue
        got = values(p, actor, ind.code, period, level, code)
        item = dict(got["items"][0]) if got["items"] else {"value": None}
        item.pop("code", None)
        out.append({**got["indicator"], **item})
    return {"period": period, "level": level, "code": code, "indicators": out}


# Which evaluation level a scope's dimension is (the screen says whose numbers it shows).
SCOPE_LEVEL = {
    "street_code": Level.STREET,
    "community_code": Level.COMMUNITY,
    "grid_code": Level.GRID,
    "department_code": Level.DEPARTMENT,
}
SUMMARY_GROUPS = ("day", "street_code", "community_code", "department_code", "element_code",
                  "channel")  # fmt: skip


def scope_summary(
    p: Platform,
    actor: Actor,
    period: str,
    indicators: Sequence[str] = (),
    counters: Sequence[str] = (),
    by: str | None = None,
) -> dict[str, Any]:
    """The actor's whole scope in one read of the rollups: raw counter sums and each
    indicator's value (computed exactly as :func:`values` computes it for the same object),
    in total or per value of one dimension (``by``: day, street, community, department,
    element or channel code).

    Why: the big screen shows the viewer's own territory, not "the district" or "one street"
    chosen by a parameter; this reads that territory without the caller knowing its level.
    ``scope`` in the answer names the level and code the numbers equal in :func:`values`.
    Indicators with filters are summed in their own query (as in :func:`rankings`).
    """
    if by is not None and by not in SUMMARY_GROUPS:
        raise InputError(f"by is one of {', '.join(SUMMARY_GROUPS)}", field="by", rule="enum")
    cfg = config()
    inds = [indicator_of(cfg, code) for code in indicators]
    for name in counters:
        if name not in COUNTERS:
            raise InputError(f"unknown counter {name!r}", field="counters", rule="known_counter")
    per = period_of(period)
    scope = scope_of(actor)
    groups: dict[str, list[Indicator]] = {}
    for ind in inds:
        groups.setdefault(repr(sorted(ind.filters.items())), []).append(ind)
    plain = "[]"
    groups.setdefault(plain, [])
    rows: dict[Any, dict[str, Any]] = {}
    with p.db.read() as conn:
        for key, members in groups.items():
            where = _merge_where(scope, {}, members[0] if members else None)
            wanted = tuple(
                dict.fromkeys(
                    [
                        *(c for ind in members for c in ind.counters),
                        *(counters if key == plain else ()),
                    ]
                )
            )
            if not wanted:
                continue
            for r in _sums(conn, wanted, per, where, by):
                group = r.get(by) if by else None
                if by and group is None:
                    continue
                row = rows.setdefault(group, {"key": group, "counters": {}, "indicators": {}})
                if key == plain:
                    row["counters"].update({c: int(r.get(c) or 0) for c in counters})
                for ind in members:
                    row["indicators"][ind.code] = _value_row(ind, r)
    if not by and not rows:
        rows[None] = {"key": None, "counters": {}, "indicators": {}}
    for row in rows.values():
        for c in counters:
            row["counters"].setdefault(c, 0)
        for ind in inds:
            row["indicators"].setdefault(ind.code, _value_row(ind, {}))
    if scope.is_global:
        level, code = Level.DISTRICT, None
    else:
        dim, codes = next(iter(scope.where.items()))
        level, code = SCOPE_LEVEL[dim], ",".join(codes)
    return {
        "period": {"label": per.label, "first": per.first, "last": per.last},
        "scope": {"level": str(level), "code": code},
        "by": by,
        "rows": sorted(rows.values(), key=lambda r: str(r["key"])),
    }
