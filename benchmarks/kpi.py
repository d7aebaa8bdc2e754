"""KPI dashboards over the rollups vs a naive GROUP BY over raw cases, and a full recompute.

What it does, in one run on one SQLite file (``--cases``, default 10,000,000):

1. generates raw cases synthetically inside SQLite (a recursive CTE with a deterministic hash:
   no Python loop per row) into ``bench_raw_cases`` — the columns of ``cases`` a KPI needs,
   with a realistic spread (times as epoch seconds; ids grow with the report day, as they
   do): 36 streets × 36 communities, 120 elements (skewed), the element's department,
   10 channels (skewed), a year of days, statuses along the loop, deadlines met or missed —
   and indexes it by report time, as the real ``cases`` table is;
2. derives ``kpi_case_facts`` from them in SQL (the same counters ``derive_facts`` makes);
3. times ``store.rebuild_rollups`` — the product's recompute of every rollup grain;
4. times a realistic dashboard set through the product's reading functions (rollups only):
   every indicator of the district for a month, street and department rankings, a street's
   daily trend, a street-vs-district comparison, element and channel tables;
5. times the naive answer to the same district-month question: one GROUP BY over raw cases.

Last line: one JSON object (``dashboard_p50_ms``, ``dashboard_p99_ms``, ``recompute_s``,
``naive_groupby_ms``, ``naive_dashboard_ratio`` …). ``--cases 200000`` for a quick run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from civicloop.core.clock import FrozenClock
from civicloop.core.rawsql import Raw
from civicloop.core.settings import Settings
from civicloop.evaluation import reading, store
from civicloop.evaluation.model import COUNTERS
from civicloop.org.model import SYSTEM_ACTOR
from civicloop.runtime import Platform

STREETS, COMMUNITIES, ELEMENTS, DEPARTMENTS = 36, 36, 120, 40
CHANNELS = ("hotline", "patrol", "app", "sensor", "web", "video", "open311", "data_rule",
            "enterprise", "supervisor")  # fmt: skip
DAYS = 365
BASE = "2026-01-01"  # local day 0

# r(k): a deterministic uniform integer 0..999999 per row and salt (splitmix-like hash).
R = "(((i * 2654435761 + {k} * 40503) % 4294967296) * 2246822519 % 4294967296) % 1000000"


def raw_sql(n: int) -> str:
    r = [R.format(k=k) for k in range(1, 10)]
    channel = (
        "CASE WHEN {r} < 420000 THEN 'hotline' WHEN {r} < 700000 THEN 'patrol'"
        " WHEN {r} < 800000 THEN 'app' WHEN {r} < 860000 THEN 'sensor'"
        " WHEN {r} < 900000 THEN 'web' WHEN {r} < 930000 THEN 'video'"
        " WHEN {r} < 950000 THEN 'open311' WHEN {r} < 970000 THEN 'data_rule'"
        " WHEN {r} < 990000 THEN 'enterprise' ELSE 'supervisor' END"
    ).format(r="r3")
    # stage reached: 0 reported … 7 followed up; v = voided
    return f"""
    INSERT INTO bench_raw_cases
    WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n}),
    g AS (SELECT i, {r[0]} AS r1, {r[1]} AS r2, {r[2]} AS r3, {r[3]} AS r4, {r[4]} AS r5,
                 {r[5]} AS r6, {r[6]} AS r7, {r[7]} AS r8, {r[8]} AS r9 FROM seq),
    h AS (SELECT *, ((i - 1) * {DAYS} / {n}) * 86400 + (r2 % 86400) AS local_s,
                 CAST((r4 / 1000000.0) * (r4 / 1000000.0) * {ELEMENTS} AS INTEGER) AS el,
                 CASE WHEN r5 < 30000 THEN -1 WHEN r5 < 90000 THEN 0 WHEN r5 < 130000 THEN 1
                      WHEN r5 < 180000 THEN 2 WHEN r5 < 240000 THEN 3 WHEN r5 < 360000 THEN 4
                      WHEN r5 < 420000 THEN 5 WHEN r5 < 540000 THEN 6 ELSE 7 END AS stage
          FROM g)
    SELECT i,
      date(unixepoch('{BASE}') + local_s, 'unixepoch'),
      unixepoch('{BASE}') + local_s - 28800,
      printf('S%02d', r2 % {STREETS}),
      printf('S%02dC%02d', r2 % {STREETS}, r6 % {COMMUNITIES}),
      printf('S%02dC%02dG%d', r2 % {STREETS}, r6 % {COMMUNITIES}, r7 % 8),
      CASE WHEN stage >= 3 THEN printf('D%02d', el % {DEPARTMENTS}) ELSE NULL END,
      printf('E%03d', el),
      {channel},
      CASE stage WHEN -1 THEN 'voided' WHEN 0 THEN 'reported' WHEN 1 THEN 'accepted'
        WHEN 2 THEN 'filed' WHEN 3 THEN 'dispatched' WHEN 4 THEN 'handling'
        WHEN 5 THEN 'verified' WHEN 6 THEN 'closed' ELSE 'followed_up' END,
      CASE WHEN stage >= 2 THEN unixepoch('{BASE}') + local_s - 28800 + 3600 + (r8 % 7200) END,
      CASE WHEN stage >= 3 THEN unixepoch('{BASE}') + local_s - 28800 + 7200 + (r8 % 14400) END,
      CASE WHEN stage >= 3 THEN unixepoch('{BASE}') + local_s - 28800 + 3 * 86400 END,
      CASE WHEN stage >= 6 THEN unixepoch('{BASE}') + local_s - 28800 + 3600
        + (r9 % (4 * 86400)) END,
      CASE WHEN stage >= 3 AND r8 % 100 < 5 THEN 1 ELSE 0 END,
      CASE WHEN stage >= 5 AND r9 % 100 < 7 THEN 1 ELSE 0 END,
      CASE WHEN stage >= 4 AND r7 % 100 < 4 THEN 1 ELSE 0 END,
      CASE WHEN stage = 7 THEN (CASE WHEN r6 % 100 < 72 THEN 'satisfied'
        WHEN r6 % 100 < 93 THEN 'basically_satisfied' ELSE 'unsatisfied' END) END,
      CASE WHEN r1 % 100 < 3 THEN 1 ELSE 0 END,
      r8 % 7200, r8 % 14400, (r9 % (4 * 86400))
    FROM h
    """


RAW_TABLE = """CREATE TABLE bench_raw_cases (
    id INTEGER PRIMARY KEY, day TEXT, reported_at INT, street_code TEXT, community_code TEXT,
    grid_code TEXT, lead_department TEXT, element_code TEXT, channel TEXT, status TEXT,
    filed_at INT, dispatched_at INT, handle_due_at INT, closed_at INT, return_count INT,
    rework_count INT, extension_count INT, satisfaction TEXT, attached INT, file_s INT,
    dispatch_s INT, handle_s INT)"""

# the facts derive_facts would make of those raw rows, in SQL
_FLAGS = {
    "cases": "1",
    "valid": "status NOT IN ('voided', 'merged')",
    "voided": "status = 'voided'",
    "accepted": "filed_at IS NOT NULL OR status = 'accepted'",
    "accepted_on_time": "filed_at IS NOT NULL OR status = 'accepted'",
    "filed": "filed_at IS NOT NULL",
    "filed_on_time": "filed_at IS NOT NULL AND file_s < 5400",
    "to_close": "filed_at IS NOT NULL AND status NOT IN ('voided', 'merged')",
    "dispatched": "dispatched_at IS NOT NULL",
    "dispatched_on_time": "dispatched_at IS NOT NULL AND dispatch_s < 10800",
    "returned": "return_count > 0",
    "disposed": "status IN ('verified', 'closed', 'followed_up')",
    "disposed_on_time": "status IN ('verified', 'closed', 'followed_up') AND rework_count = 0",
    "closed": "closed_at IS NOT NULL",
    "closed_on_time": "closed_at IS NOT NULL AND closed_at <= handle_due_at",
    "reworked": "rework_count > 0",
    "verify_due": "status IN ('verified', 'closed', 'followed_up')",
    "verified_on_time": "status IN ('verified', 'closed', 'followed_up')",
    "extended": "extension_count > 0",
    "rated": "satisfaction IS NOT NULL",
    "satisfied": "satisfaction IN ('satisfied', 'basically_satisfied')",
    "proactive": "channel IN ('patrol', 'sensor', 'video', 'data_rule')",
    "citizen": "channel IN ('hotline', 'app', 'web', 'open311')",
    "missed": "filed_at IS NOT NULL AND channel IN ('hotline', 'app', 'web', 'open311')",
    "repeated": "attached > 0",
}
_SUMS = {
    "file_s": "CASE WHEN filed_at IS NOT NULL THEN file_s ELSE 0 END",
    "file_n": "CASE WHEN filed_at IS NOT NULL THEN 1 ELSE 0 END",
    "dispatch_s": "CASE WHEN dispatched_at IS NOT NULL THEN dispatch_s ELSE 0 END",
    "dispatch_n": "CASE WHEN dispatched_at IS NOT NULL THEN 1 ELSE 0 END",
    "handle_s": "CASE WHEN status IN ('verified', 'closed', 'followed_up') THEN handle_s ELSE 0 END",
    "handle_n": "CASE WHEN status IN ('verified', 'closed', 'followed_up') THEN 1 ELSE 0 END",
}


def facts_sql() -> str:
    exprs = []
    for c in COUNTERS:
        if c in _FLAGS:
            exprs.append(f"CASE WHEN {_FLAGS[c]} THEN 1 ELSE 0 END")
        else:
            exprs.append(_SUMS.get(c, "0"))
    cols = ", ".join(
        [
            "case_id",
            "number",
            "day",
            "street_code",
            "community_code",
            "grid_code",
            "department_code",
            "element_code",
            "channel",
            "dispatch_by",
            *COUNTERS,
        ]
    )
    return (
        f"INSERT INTO kpi_case_facts ({cols}) SELECT printf('c%010d', id), printf('N%010d', id),"
        " day, street_code, community_code, grid_code, COALESCE(lead_department, ''),"
        " element_code, channel,"
        " CASE WHEN dispatched_at IS NOT NULL THEN printf('dispatcher%d', id % 12) END, "
        + ", ".join(exprs)
        + " FROM bench_raw_cases"
    )


NAIVE = """SELECT street_code,
  SUM(CASE WHEN filed_at IS NOT NULL AND status NOT IN ('voided','merged') THEN 1 ELSE 0 END),
  SUM(CASE WHEN closed_at IS NOT NULL THEN 1 ELSE 0 END),
  SUM(CASE WHEN closed_at IS NOT NULL AND closed_at <= handle_due_at THEN 1 ELSE 0 END),
  SUM(CASE WHEN dispatched_at IS NOT NULL THEN 1 ELSE 0 END),
  SUM(CASE WHEN return_count > 0 THEN 1 ELSE 0 END),
  SUM(CASE WHEN rework_count > 0 THEN 1 ELSE 0 END),
  SUM(CASE WHEN extension_count > 0 THEN 1 ELSE 0 END),
  SUM(CASE WHEN satisfaction IS NOT NULL THEN 1 ELSE 0 END),
  SUM(CASE WHEN satisfaction IN ('satisfied','basically_satisfied') THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel IN ('patrol','sensor','video','data_rule') THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel IN ('hotline','app','web','open311') THEN 1 ELSE 0 END)
FROM bench_raw_cases WHERE reported_at >= :a AND reported_at < :b GROUP BY street_code"""


def ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000_000)
    ap.add_argument("--rounds", type=int, default=5, help="repetitions of the dashboard set")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="time only the reads on a --data-dir a previous run filled (recompute_s: null)",
    )
    ap.add_argument(
        "--rebuild",
        action="store_true",
        help="with --reuse: also time the rollup rebuild on the stored facts",
    )
    args = ap.parse_args()
    folder = args.data_dir or Path(tempfile.mkdtemp(prefix="kpi-bench-"))
    p = Platform.open(
        Settings(data_dir=folder, sweep_interval_seconds=0),
        clock=FrozenClock(datetime(2026, 11, 27, tzinfo=UTC)),
    )
    n = args.cases
    print(f"kpi benchmark: {n:,} cases in {folder}", file=sys.stderr)

    gen_s = facts_s = recompute_s = None
    if not args.reuse:
        gen_s, facts_s, recompute_s = build(p, n)
    elif args.rebuild:
        recompute_s = rebuild(p)
    with p.db.read() as conn:
        sizes = {
            g: int(Raw(conn).one(f"SELECT COUNT(*) AS n FROM kpi_rollup_{g}")["n"])  # type: ignore[index]
            for g in store.GRAINS
        }
    print(f"rows per grain {sizes}", file=sys.stderr)
    reads(p, args, n, gen_s, facts_s, recompute_s, sizes)


def build(p: Platform, n: int) -> tuple[float, float, float]:
    """Generate raw cases and facts, then time the product's recompute of every grain."""
    t0 = time.perf_counter()
    with p.db.write() as conn:
        raw = Raw(conn)
        raw.run("DROP TABLE IF EXISTS bench_raw_cases")
        raw.run(RAW_TABLE)
        raw.run(raw_sql(n))
        raw.run("CREATE INDEX ix_bench_raw_cases_reported_at ON bench_raw_cases (reported_at)")
    gen_s = time.perf_counter() - t0
    print(f"generated raw cases: {gen_s:.1f} s", file=sys.stderr)
    t0 = time.perf_counter()
    with p.db.write() as conn:
        raw = Raw(conn)
        store.clear_facts(raw)
        raw.run(facts_sql())
    facts_s = time.perf_counter() - t0
    print(f"derived facts: {facts_s:.1f} s", file=sys.stderr)
    with p.db.write() as conn:
        conn.exec_driver_sql("ANALYZE")

    return gen_s, facts_s, rebuild(p)


def rebuild(p: Platform) -> float:
    """Time the product's rebuild of every rollup grain from the stored facts."""
    t0 = time.perf_counter()
    with p.db.write() as conn:
        store.rebuild_rollups(Raw(conn))
    recompute_s = time.perf_counter() - t0
    print(f"recompute (all grains): {recompute_s:.1f} s", file=sys.stderr)
    return recompute_s


def reads(
    p: Platform,
    args: argparse.Namespace,
    n: int,
    gen_s: float | None,
    facts_s: float | None,
    recompute_s: float | None,
    sizes: dict[str, int],
) -> None:
    """Time the dashboard set and the naive GROUP BY; print the figures and the JSON line."""
    month = "2026-10"  # local October, in UTC epoch seconds
    a = int(datetime(2026, 9, 30, 16, tzinfo=UTC).timestamp())
    b = int(datetime(2026, 10, 31, 16, tzinfo=UTC).timestamp())
    a_street = "S07"
    indicators = [i["code"] for i in reading.indicators_list()]
    queries = {
        "district_indicator": lambda code: reading.values(p, SYSTEM_ACTOR, code, month),
        "street_table": lambda code: reading.values(p, SYSTEM_ACTOR, code, month, "street"),
        "community_table": lambda code: reading.values(p, SYSTEM_ACTOR, code, month, "community"),
        "department_table": lambda code: reading.values(p, SYSTEM_ACTOR, code, month, "department"),
        "element_table": lambda code: reading.values(p, SYSTEM_ACTOR, code, month, "element"),
        "channel_table": lambda code: reading.values(p, SYSTEM_ACTOR, code, month, "channel"),
        "street_trend": lambda code: reading.trend(
            p, SYSTEM_ACTOR, code, month, "day", "street", a_street
        ),
        "street_vs_district": lambda code: reading.compare(
            p, SYSTEM_ACTOR, code, month, "street", a_street
        ),
    }
    timings: dict[str, list[float]] = {k: [] for k in queries}
    timings["street_ranking"] = []
    timings["department_ranking"] = []
    for _ in range(args.rounds):
        for name, fn in queries.items():
            for code in indicators[:8]:
                t0 = time.perf_counter()
                fn(code)
                timings[name].append(ms(t0))
        for comp, key in (("street", "street_ranking"), ("department", "department_ranking")):
            t0 = time.perf_counter()
            reading.rankings(p, SYSTEM_ACTOR, month, comp, providers={})
            timings[key].append(ms(t0))
    everything = sorted(x for v in timings.values() for x in v)
    p50 = statistics.median(everything)
    p99 = everything[min(len(everything) - 1, int(len(everything) * 0.99))]
    for name, v in timings.items():
        print(f"  {name:<20} p50 {statistics.median(v):7.2f} ms  max {max(v):7.2f} ms",
              file=sys.stderr)  # fmt: skip

    naive: list[float] = []
    with p.db.read() as conn:
        raw = Raw(conn)
        for _ in range(3):
            t0 = time.perf_counter()
            raw.all(NAIVE, {"a": a, "b": b})
            naive.append(ms(t0))
        t0 = time.perf_counter()
        raw.all(NAIVE.replace("WHERE reported_at >= :a AND reported_at < :b ", ""))
        naive_all_ms = ms(t0)
    naive_ms = statistics.median(naive)
    ratio = naive_ms / p50 if p50 else 0.0
    print(
        f"dashboard p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(everything)} queries;"
        f" naive GROUP BY over raw cases (one month, by street) {naive_ms:.0f} ms"
        f" = {ratio:.0f}× the dashboard p50; naive over all cases {naive_all_ms:.0f} ms",
        file=sys.stderr,
    )
    p.close()
    print(
        json.dumps(
            {
                "cases": n,
                "dashboard_p50_ms": round(p50, 3),
                "dashboard_p99_ms": round(p99, 3),
                "recompute_s": None if recompute_s is None else round(recompute_s, 2),
                "naive_groupby_ms": round(naive_ms, 1),
                "naive_all_cases_ms": round(naive_all_ms, 1),
                "naive_dashboard_ratio": round(ratio, 1),
                "generate_raw_s": None if gen_s is None else round(gen_s, 1),
                "derive_facts_s": None if facts_s is None else round(facts_s, 1),
                "rollup_rows": sizes,
            }
        )
    )


if __name__ == "__main__":
    main()
