"""Evaluation use cases: keep the rollups current from the ledger, rebuild them, read numbers.

The consumer (:func:`consume`) is the only incremental writer of the rollups. It reads ledger
entries after its cursor, re-derives the facts of every case those entries touched, adds
(new − old) to every rollup grain and moves the cursor — one transaction per batch, so an
event is applied exactly once even when the process dies between batches. A case's facts
are a function of its current state, so applying the same case twice is harmless and the
result equals :func:`recompute` (facts re-derived for every case, rollups by GROUP BY).

Reading (:mod:`civicloop.evaluation.reading`) only touches the rollups, except for grid and
person levels and drill-downs, which read the per-case facts of one period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from civicloop.core.errors import ForbiddenError, InputError
from civicloop.core.rawsql import Raw
from civicloop.evaluation import store
from civicloop.evaluation.model import (
    COUNTERS,
    CaseFacts,
    KpiConfig,
    Level,
    PeriodError,
    derive_facts,
    diff_cells,
    parse_config,
    parse_period,
)
from civicloop.ledger.service import Action as LedgerAction
from civicloop.ledger.service import record
from civicloop.org.model import Actor, Role
from civicloop.runtime import Platform

log = logging.getLogger("civicloop.kpi")


@lru_cache(maxsize=8)
def _config_from(path: str | None) -> KpiConfig:
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        text = (
            resources.files("civicloop.evaluation").joinpath("indicators.yaml").read_text("utf-8")
        )
    try:
        return parse_config(yaml.safe_load(text) or {})
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"KPI configuration: {exc}", field="indicators.yaml", rule="valid_kpi_config"
        ) from exc


def config(path: str | None = None) -> KpiConfig:
    """The indicator set: ``path``, else ``$CIVICLOOP_KPI_CONFIG``, else the packaged YAML."""
    import os

    return _config_from(path or os.environ.get("CIVICLOOP_KPI_CONFIG") or None)


# ------------------------------------------------------------------------- the consumer


def _derive(raw: Raw, case_ids: list[str]) -> dict[str, CaseFacts]:
    return {
        str(c["id"]): derive_facts(c, steps, n) for c, steps, n in store.source_cases(raw, case_ids)
    }


def consume(p: Platform, *, batch: int = 2000, max_batches: int | None = None) -> int:
    """Apply ledger entries after the cursor to the rollups; returns how many were read.

    Each batch is one write transaction: facts, rollup deltas and the cursor move commit
    together. Safe to run in several processes (the cursor row is locked on PostgreSQL; SQLite
    has one writer).
    """
    done = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        with p.db.write() as conn:
            raw = Raw(conn)
            cursor = store.read_cursor(raw, lock=True)
            last, case_ids = store.ledger_cases_after(raw, cursor, batch)
            if last == cursor:
                return done
            new = _derive(raw, case_ids)
            old = store.read_facts(raw, case_ids)
            deltas: dict[tuple[str, ...], dict[str, int]] = {}
            for cid in case_ids:
                for cell, d in diff_cells(old.get(cid), new.get(cid)).items():
                    acc = deltas.setdefault(cell, dict.fromkeys(COUNTERS, 0))
                    for k, v in d.items():
                        acc[k] += v
            store.write_facts(raw, list(new.values()))
            store.apply_deltas(raw, deltas)
            store.move_cursor(raw, last, p.clock.now())
        done += last - cursor
        batches += 1
    return done


@dataclass(frozen=True)
class RecomputeResult:
    cases: int
    cursor: int
    cells: int


def recompute(p: Platform, *, batch: int = 2000) -> RecomputeResult:
    """Rebuild facts (from every case) and every rollup grain (GROUP BY) from scratch.

    One transaction: readers see the old numbers until it commits; the cursor is set to the
    ledger head read inside it, so the consumer resumes exactly after what was rebuilt.
    """
    n = 0
    with p.db.write() as conn:
        raw = Raw(conn)
        store.read_cursor(raw, lock=True)
        head = store.ledger_head(raw)
        store.clear_facts(raw)
        for ids in store.iter_case_ids(raw, batch):
            facts = list(_derive(raw, ids).values())
            store.write_facts(raw, facts, replace=False)
            n += len(facts)
        store.rebuild_rollups(raw)
        store.move_cursor(raw, head, p.clock.now())
        cells = raw.one("SELECT COUNT(*) AS n FROM kpi_rollup_cell")
    return RecomputeResult(n, head, int(cells["n"]) if cells else 0)


def rebuild_rollups_only(p: Platform) -> int:
    """Rebuild the rollup grains from the stored facts (what the benchmark times at 10 M)."""
    with p.db.write() as conn:
        raw = Raw(conn)
        store.rebuild_rollups(raw)
        cells = raw.one("SELECT COUNT(*) AS n FROM kpi_rollup_cell")
    return int(cells["n"]) if cells else 0


def rollup_snapshot(p: Platform) -> dict[str, list[tuple[object, ...]]]:
    """Every rollup row of every grain (compare an incremental state with a recompute)."""
    with p.db.read() as conn:
        return {g: store.all_rows(conn, g) for g in store.GRAINS}


def add_review(
    p: Platform, actor: Actor, *, period: str, level: str, code: str, score: float, comment: str
) -> dict[str, Any]:
    """Store a supervisor's qualitative score (0–100) for one object in one period and trace it
    in the ledger. ForbiddenError for non-supervisors, InputError for a bad field."""
    if actor.role not in (Role.DISTRICT_SUPERVISOR, Role.SHIFT_CHIEF, Role.ADMIN):
        raise ForbiddenError("reviews are given by supervisors", role=str(actor.role))
    try:
        per = parse_period(period)
    except PeriodError as exc:
        raise InputError(str(exc), field="period", rule="period_format") from exc
    try:
        lvl = Level(level)
    except ValueError as exc:
        raise InputError("unknown level", field="level", rule="enum") from exc
    if not 0 <= score <= 100:
        raise InputError("score is 0..100", field="score", rule="range")
    code = (code or "").strip()
    if not code or len(code) > 64:
        raise InputError("code is required (≤ 64 characters)", field="code", rule="required")
    now = p.clock.now()
    row = {
        "period": per.label,
        "level": str(lvl),
        "code": code,
        "score": float(score),
        "comment": (comment or "")[:2000],
        "reviewer_id": actor.id,
        "created_at": now,
    }
    with p.db.write() as conn:
        rid = store.insert_review(Raw(conn), row)
        record(
            conn,
            actor,
            [
                LedgerAction(
                    "kpi.reviewed",
                    "kpi_review",
                    str(rid),
                    after={k: v for k, v in row.items() if k != "created_at"},
                )
            ],
            at=now,
            request_id="-",
        )
    return {"id": rid, **row}
