"""Tables of the evaluation context and the SQL that fills and reads them.

* ``kpi_case_facts`` — one row per case: its rollup cell, its people and its counters
  (:func:`civicloop.evaluation.model.derive_facts`). It is what a drill-down lists and what
  grid- and person-level numbers are summed from.
* ``kpi_rollup_cell`` — counters summed per day × street × community × department × element ×
  channel (the issue's rollup), and two coarser grains kept the same way, because at 10 M cases
  the full cell is nearly as fine as the cases themselves: ``kpi_rollup_region`` (day × street
  × community), ``kpi_rollup_department`` (day × street × department) and
  ``kpi_rollup_element`` (day × element × channel), and the same three by month
  (``kpi_rollup_*_month``). A dashboard query reads the smallest grain that has the columns it
  needs, a monthly one when its period is whole months.
* ``kpi_cursor`` — the last ledger seq the consumer applied (moved in the same transaction as
  the rollups, so each event is applied once).
* ``kpi_reviews`` — supervisors' scores (0–100), a qualitative input of composite scores.

Reading the case tables (``cases``, ``case_steps``, ``case_reporters``) from here is a
deliberate, read-only exception to "contexts use each other's services": the evaluation is a
projection of the loop's state, read in bulk (thousands of cases per statement); a service
call per case would be the slow path the rollups exist to avoid. Nothing here writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from civicloop.core.db import UTCDateTime, metadata
from civicloop.core.rawsql import Raw
from civicloop.evaluation.model import (
    COUNTERS,
    DIMENSIONS,
    PERSON_COLUMNS,
    CaseFacts,
    StepRow,
)

Big = BigInteger().with_variant(Integer, "sqlite")


def _counter_columns() -> list[Column[Any]]:
    return [Column(c, Big, nullable=False, default=0) for c in COUNTERS]


# Clustered by the rollup cell (WITHOUT ROWID on SQLite): a recompute's GROUP BY reads the
# facts in key order instead of sorting ten million rows, and a period's facts (drill-down,
# grid and person levels) are one range of the key. ``case_id`` is unique on its own index.
kpi_case_facts = Table(
    "kpi_case_facts",
    metadata,
    Column("day", String(10), nullable=False),
    Column("street_code", String(32), nullable=False),
    Column("community_code", String(32), nullable=False),
    Column("department_code", String(64), nullable=False),
    Column("element_code", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("case_id", String(32), nullable=False),
    Column("number", String(32), nullable=False),
    Column("grid_code", String(32), nullable=False),
    *[Column(p, String(64), nullable=True) for p in PERSON_COLUMNS],
    *_counter_columns(),
    PrimaryKeyConstraint(*DIMENSIONS, "case_id", name="pk_kpi_case_facts"),
    sqlite_with_rowid=False,
)
Index("ix_kpi_case_facts_case_id", kpi_case_facts.c.case_id, unique=True)
Index("ix_kpi_case_facts_grid_code_day", kpi_case_facts.c.grid_code, kpi_case_facts.c.day)

GRAINS: dict[str, tuple[str, ...]] = {
    "cell": DIMENSIONS,
    "region": ("day", "street_code", "community_code"),
    "department": ("day", "street_code", "department_code"),
    "element": ("day", "element_code", "channel"),
    # The same three by month (``day`` holds the month's first day): a month's tables and
    # rankings sum ~1/30 of the rows. Built from the daily grain; read for whole months only.
    "region_month": ("day", "street_code", "community_code"),
    "department_month": ("day", "street_code", "department_code"),
    "element_month": ("day", "element_code", "channel"),
}
MONTHLY: dict[str, str] = {
    "region_month": "region",
    "department_month": "department",
    "element_month": "element",
}


def month_of(day: str) -> str:
    """``2026-10-17`` → ``2026-10-01``: the key of a day in the monthly grains."""
    return day[:8] + "01"


def _rollup(name: str, dims: tuple[str, ...]) -> Table:
    return Table(
        f"kpi_rollup_{name}",
        metadata,
        *[Column(d, String(64), nullable=False) for d in dims],
        *_counter_columns(),
        PrimaryKeyConstraint(*dims, name=f"pk_kpi_rollup_{name}"),
        sqlite_with_rowid=False,  # clustered by (day, …): a period is one range of the table
    )


ROLLUPS: dict[str, Table] = {name: _rollup(name, dims) for name, dims in GRAINS.items()}

kpi_cursor = Table(
    "kpi_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("seq", Big, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

kpi_reviews = Table(
    "kpi_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("period", String(32), nullable=False),
    Column("level", String(16), nullable=False),
    Column("code", String(64), nullable=False),
    Column("score", Float, nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("reviewer_id", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
Index("ix_kpi_reviews_period_level", kpi_reviews.c.period, kpi_reviews.c.level)

CURSOR = "ledger"
_FACT_COLUMNS = (
    "case_id",
    "number",
    "day",
    "street_code",
    "community_code",
    "grid_code",
    "department_code",
    "element_code",
    "channel",
    *PERSON_COLUMNS,
    *COUNTERS,
)


# ------------------------------------------------------------------ the loop's state (read)


def ledger_head(raw: Raw) -> int:
    row = raw.one("SELECT MAX(seq) AS s FROM ledger_entries")
    return int(row["s"] or 0) if row else 0


def ledger_cases_after(raw: Raw, after: int, limit: int) -> tuple[int, list[str]]:
    """(last seq read, ids of the cases those entries are about) for entries after ``after``."""
    rows = raw.all(
        "SELECT seq, target_type, target_id FROM ledger_entries WHERE seq > :a"
        " ORDER BY seq LIMIT :n",
        {"a": after, "n": limit},
    )
    if not rows:
        return after, []
    ids = [str(r["target_id"]) for r in rows if r["target_type"] == "case"]
    return int(rows[-1]["seq"]), list(dict.fromkeys(ids))


def iter_case_ids(raw: Raw, batch: int = 2000) -> Iterator[list[str]]:
    last = ""
    while True:
        rows = raw.all(
            "SELECT id FROM cases WHERE id > :last ORDER BY id LIMIT :n", {"last": last, "n": batch}
        )
        if not rows:
            return
        ids = [str(r["id"]) for r in rows]
        yield ids
        last = ids[-1]


def _marks(prefix: str, values: Sequence[str]) -> tuple[str, dict[str, str]]:
    names = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return ", ".join(f":{k}" for k in names), names


def source_cases(
    raw: Raw, case_ids: Sequence[str]
) -> list[tuple[dict[str, Any], list[StepRow], int]]:
    """(case row, its SLA steps in order, attached reporters) for each existing case."""
    if not case_ids:
        return []
    marks, params = _marks("c", case_ids)
    cases = raw.all(
        "SELECT id, number, status, channel, street_code, region_path, grid_code,"
        " lead_department, element_code, reporter_id, return_count, rework_count,"
        " reopen_count, extension_count, satisfaction, reported_at, filed_at, dispatched_at,"
        f" closed_at FROM cases WHERE id IN ({marks})",
        params,
    )
    steps: dict[str, list[StepRow]] = {}
    for s in raw.all(
        "SELECT case_id, step, started_at, due_at, completed_at, completed_by FROM case_steps"
        f" WHERE case_id IN ({marks}) ORDER BY case_id, id",
        params,
    ):
        started, due = raw.parse_ts(s["started_at"]), raw.parse_ts(s["due_at"])
        assert started is not None and due is not None
        steps.setdefault(str(s["case_id"]), []).append(
            StepRow(
                str(s["step"]),
                started,
                due,
                raw.parse_ts(s["completed_at"]),
                s["completed_by"],
            )
        )
    reporters = {
        str(r["case_id"]): int(r["n"])
        for r in raw.all(
            f"SELECT case_id, COUNT(*) AS n FROM case_reporters WHERE case_id IN ({marks})"
            " GROUP BY case_id",
            params,
        )
    }
    out = []
    for c in cases:
        for col in ("reported_at", "filed_at", "dispatched_at", "closed_at"):
            c[col] = raw.parse_ts(c[col])
        cid = str(c["id"])
        out.append((c, steps.get(cid, []), reporters.get(cid, 0)))
    return out


# ------------------------------------------------------------------ facts and rollups (write)


def _facts_from_row(r: Mapping[str, Any]) -> CaseFacts:
    return CaseFacts(
        case_id=str(r["case_id"]),
        number=str(r["number"]),
        day=str(r["day"]),
        street_code=str(r["street_code"]),
        community_code=str(r["community_code"]),
        grid_code=str(r["grid_code"]),
        department_code=str(r["department_code"]),
        element_code=str(r["element_code"]),
        channel=str(r["channel"]),
        people={p: r[p] for p in PERSON_COLUMNS},
        counters={c: int(r[c]) for c in COUNTERS},
    )


def read_facts(raw: Raw, case_ids: Sequence[str]) -> dict[str, CaseFacts]:
    if not case_ids:
        return {}
    marks, params = _marks("c", case_ids)
    rows = raw.all(f"SELECT * FROM kpi_case_facts WHERE case_id IN ({marks})", params)
    return {str(r["case_id"]): _facts_from_row(r) for r in rows}


_INSERT_FACTS = (
    f"INSERT INTO kpi_case_facts ({', '.join(_FACT_COLUMNS)}) VALUES"
    f" ({', '.join(':' + c for c in _FACT_COLUMNS)})"
)


def write_facts(raw: Raw, facts: Sequence[CaseFacts], *, replace: bool = True) -> None:
    if not facts:
        return
    if replace:
        marks, params = _marks("c", [f.case_id for f in facts])
        raw.run(f"DELETE FROM kpi_case_facts WHERE case_id IN ({marks})", params)
    raw.many(
        _INSERT_FACTS,
        [
            {
                "case_id": f.case_id,
                "number": f.number,
                "day": f.day,
                "street_code": f.street_code,
                "community_code": f.community_code,
                "grid_code": f.grid_code,
                "department_code": f.department_code,
                "element_code": f.element_code,
                "channel": f.channel,
                **f.people,
                **f.counters,
            }
            for f in facts
        ],
    )


def _upsert_sql(grain: str) -> str:
    dims = GRAINS[grain]
    cols = (*dims, *COUNTERS)
    sets = ", ".join(f"{c} = kpi_rollup_{grain}.{c} + excluded.{c}" for c in COUNTERS)
    return (
        f"INSERT INTO kpi_rollup_{grain} ({', '.join(cols)}) VALUES"
        f" ({', '.join(':' + c for c in cols)})"
        f" ON CONFLICT ({', '.join(dims)}) DO UPDATE SET {sets}"
    )


_UPSERT = {g: _upsert_sql(g) for g in GRAINS}


def apply_deltas(raw: Raw, deltas: Mapping[tuple[str, ...], Mapping[str, int]]) -> None:
    """Add counter deltas (keyed by the full cell) to every grain; drop emptied rows."""
    for grain, dims in GRAINS.items():
        merged: dict[tuple[str, ...], dict[str, int]] = {}
        monthly = grain in MONTHLY
        for cell, delta in deltas.items():
            key = tuple(cell[DIMENSIONS.index(d)] for d in dims)
            if monthly:  # every grain's first dimension is the day
                key = (month_of(key[0]), *key[1:])
            acc = merged.setdefault(key, dict.fromkeys(COUNTERS, 0))
            for k, v in delta.items():
                acc[k] += v
        rows = [
            {**dict(zip(dims, key, strict=True)), **acc}
            for key, acc in merged.items()
            if any(acc.values())
        ]
        if rows:
            raw.many(_UPSERT[grain], rows)
    # a cell with no case left is not a cell (a recompute would not have it)
    for grain in GRAINS:
        raw.run(f"DELETE FROM kpi_rollup_{grain} WHERE cases = 0")


def rebuild_rollups(raw: Raw) -> None:
    """Every grain from the facts, by GROUP BY: the cell from the facts (read in key order, no
    sort), the coarser grains from the cell."""
    sums = ", ".join(f"SUM({c})" for c in COUNTERS)
    counters = ", ".join(COUNTERS)
    # The coarser grains sort millions of cell rows; SQLite's sorter spills to temp files past
    # the page cache, so the writer connection gets 1 GB of cache for this (and gives it back).
    # Reading the facts through a memory map (SQLite caps it at 2 GB) saves copying every page
    # of the 10 M-row scan into that cache: ~25 % off the cell grain at 10 M cases.
    before = raw.one("PRAGMA cache_size") if raw.is_sqlite else None
    mmap_before = raw.one("PRAGMA mmap_size") if raw.is_sqlite else None
    if raw.is_sqlite:
        raw.run("PRAGMA cache_size = -1048576")
        raw.run("PRAGMA mmap_size = 2147418112")
    try:
        for grain in GRAINS:
            raw.run(f"DELETE FROM kpi_rollup_{grain}")
        dims = ", ".join(DIMENSIONS)
        raw.run(
            f"INSERT INTO kpi_rollup_cell ({dims}, {counters})"
            f" SELECT {dims}, {sums} FROM kpi_case_facts GROUP BY {dims}"
        )
        for grain, gdims in GRAINS.items():
            if grain == "cell" or grain in MONTHLY:
                continue
            g = ", ".join(gdims)
            raw.run(
                f"INSERT INTO kpi_rollup_{grain} ({g}, {counters})"
                f" SELECT {g}, {sums} FROM kpi_rollup_cell GROUP BY {g}"
            )
        for grain, daily in MONTHLY.items():
            rest = ", ".join(GRAINS[grain][1:])
            month = "substr(day, 1, 8) || '01'"
            raw.run(
                f"INSERT INTO kpi_rollup_{grain} (day, {rest}, {counters})"
                f" SELECT {month}, {rest}, {sums} FROM kpi_rollup_{daily} GROUP BY {month}, {rest}"
            )
    finally:
        if before is not None:
            raw.run(f"PRAGMA cache_size = {int(next(iter(before.values())))}")
        if mmap_before is not None:
            raw.run(f"PRAGMA mmap_size = {int(next(iter(mmap_before.values())))}")


def clear_facts(raw: Raw) -> None:
    raw.run("DELETE FROM kpi_case_facts")


def read_cursor(raw: Raw, *, lock: bool) -> int:
    sql = "SELECT seq FROM kpi_cursor WHERE name = :n"
    if lock and not raw.is_sqlite:
        sql += " FOR UPDATE"
    row = raw.one(sql, {"n": CURSOR})
    if row is None:
        raw.run(
            "INSERT INTO kpi_cursor (name, seq, updated_at) VALUES (:n, 0, :at)"
            + ("" if raw.is_sqlite else " ON CONFLICT (name) DO NOTHING"),
            {"n": CURSOR, "at": raw.ts(datetime.now().astimezone())},
        )
        if lock and not raw.is_sqlite:
            raw.one(sql, {"n": CURSOR})
        return 0
    return int(row["seq"])


def move_cursor(raw: Raw, seq: int, at: datetime) -> None:
    raw.run(
        "UPDATE kpi_cursor SET seq = :s, updated_at = :at WHERE name = :n",
        {"s": seq, "at": raw.ts(at), "n": CURSOR},
    )


# ------------------------------------------------------------------ reading the numbers


def sum_rollup(
    conn: Connection,
    grain: str,
    counters: Iterable[str],
    first: str,
    last: str,
    where: Mapping[str, Sequence[str]],
    group_by: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Σ counters over a grain's rows in [first, last], filtered by ``where`` (dimension →
    allowed values), optionally grouped. Column names come from fixed tuples, never input."""
    dims = GRAINS[grain]
    cols = list(dict.fromkeys(counters))
    params: dict[str, Any] = {"first": first, "last": last}
    clauses = ["day >= :first", "day <= :last"]
    for i, (dim, values) in enumerate(where.items()):
        if dim not in dims:
            raise KeyError(dim)
        marks, ps = _marks(f"w{i}_", list(values))
        clauses.append(f"{dim} IN ({marks})")
        params.update(ps)
    for g in group_by:
        if g not in dims:
            raise KeyError(g)
    select = [*group_by, *[f"SUM({c}) AS {c}" for c in cols]]
    sql = f"SELECT {', '.join(select)} FROM kpi_rollup_{grain} WHERE {' AND '.join(clauses)}"
    if group_by:
        sql += f" GROUP BY {', '.join(group_by)}"
    raw = Raw(conn)
    return raw.all(sql, params)


def sum_facts(
    conn: Connection,
    counters: Iterable[str],
    first: str,
    last: str,
    where: Mapping[str, Sequence[str]],
    group_by: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The same sums over the per-case facts (grid and person levels)."""
    allowed = set(DIMENSIONS) | {"grid_code", *PERSON_COLUMNS}
    cols = list(dict.fromkeys(counters))
    params: dict[str, Any] = {"first": first, "last": last}
    clauses = ["day >= :first", "day <= :last"]
    for i, (dim, values) in enumerate(where.items()):
        if dim not in allowed:
            raise KeyError(dim)
        marks, ps = _marks(f"w{i}_", list(values))
        clauses.append(f"{dim} IN ({marks})")
        params.update(ps)
    for g in group_by:
        if g not in allowed:
            raise KeyError(g)
        clauses.append(f"{g} IS NOT NULL")
    select = [*group_by, *[f"SUM({c}) AS {c}" for c in cols]]
    sql = f"SELECT {', '.join(select)} FROM kpi_case_facts WHERE {' AND '.join(clauses)}"
    if group_by:
        sql += f" GROUP BY {', '.join(group_by)}"
    return Raw(conn).all(sql, params)


def facts_cases(
    conn: Connection,
    predicate_sql: str,
    first: str,
    last: str,
    where: Mapping[str, Sequence[str]],
    *,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """(total, page) of the cases whose facts satisfy ``predicate_sql`` (built only from
    checked counter expressions) — the cases behind a number."""
    allowed = set(DIMENSIONS) | {"grid_code", *PERSON_COLUMNS}
    params: dict[str, Any] = {"first": first, "last": last, "limit": limit, "offset": offset}
    clauses = ["day >= :first", "day <= :last", f"({predicate_sql})"]
    for i, (dim, values) in enumerate(where.items()):
        if dim not in allowed:
            raise KeyError(dim)
        marks, ps = _marks(f"w{i}_", list(values))
        clauses.append(f"{dim} IN ({marks})")
        params.update(ps)
    cond = " AND ".join(clauses)
    raw = Raw(conn)
    total = raw.one(f"SELECT COUNT(*) AS n FROM kpi_case_facts WHERE {cond}", params)
    rows = raw.all(
        "SELECT case_id, number, day, street_code, community_code, grid_code, department_code,"
        f" element_code, channel FROM kpi_case_facts WHERE {cond}"
        " ORDER BY day, case_id LIMIT :limit OFFSET :offset",
        params,
    )
    return int(total["n"] if total else 0), rows


def insert_review(raw: Raw, row: Mapping[str, Any]) -> int:
    got = raw.one(
        "INSERT INTO kpi_reviews (period, level, code, score, comment, reviewer_id, created_at)"
        " VALUES (:period, :level, :code, :score, :comment, :reviewer_id, :created_at)"
        " RETURNING id",
        {**row, "created_at": raw.ts(row["created_at"])},
    )
    return int(got["id"]) if got else 0


def review_scores(conn: Connection, period: str, level: str) -> dict[str, float]:
    """The mean review score per evaluated object for one period and level."""
    rows = Raw(conn).all(
        "SELECT code, AVG(score) AS s FROM kpi_reviews WHERE period = :p AND level = :l"
        " GROUP BY code",
        {"p": period, "l": level},
    )
    return {str(r["code"]): float(r["s"]) for r in rows}


def all_rows(conn: Connection, grain: str) -> list[tuple[Any, ...]]:
    """Every row of a grain, sorted (tests and the recompute check compare these)."""
    dims = GRAINS[grain]
    cols = ", ".join((*dims, *COUNTERS))
    rows = Raw(conn).all(f"SELECT {cols} FROM kpi_rollup_{grain} ORDER BY {', '.join(dims)}")
    return [tuple(r.values()) for r in rows]
