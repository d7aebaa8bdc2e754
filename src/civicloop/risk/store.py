"""Tables of the risk context, on the shared ``metadata`` (see ``civicloop.schema``).

* ``risk_scorecards`` — every version of every scorecard ever used (its YAML body and hash),
  so a score names the exact rules that produced it.
* ``risk_facts`` — the raw indicator values per subject (confirmed violations, late
  rectifications, recurrences …), kept up to date by the data loop one closed case at a time.
* ``risk_scores`` — the current score, band, credit grade and explanation per subject.
* ``risk_score_history`` — every change of a score with its cause (which case, which outcome).
* ``risk_outcomes`` — which case outcome was applied (a ledger entry is applied once).
* ``risk_cursor`` — the last ledger seq the data loop has read.
* ``risk_draws`` — inspection draws (双随机) with their seed, population and picks.

``new_case_entries`` reads the ledger from a cursor: ``ledger.store.iter_entries`` always starts
at the first entry, and the data loop must not reread a district's whole ledger every minute.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    select,
)

from civicloop.core.db import JSONType, UTCDateTime, metadata
from civicloop.ledger.store import ledger_entries

# The entity-link tables share this context's migration (0011); importing them here puts them
# on ``metadata`` wherever ``civicloop.schema`` is imported (schema.py imports this module).
from civicloop.registry import links as _links  # noqa: F401

risk_scorecards = Table(
    "risk_scorecards",
    metadata,
    Column("code", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("subject_kind", String(16), nullable=False),
    Column("body", JSONType, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("loaded_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("code", "version", name="pk_risk_scorecards"),
)

risk_facts = Table(
    "risk_facts",
    metadata,
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("indicator", String(48), nullable=False),
    Column("value", Float, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("subject_kind", "subject_id", "indicator", name="pk_risk_facts"),
)

risk_scores = Table(
    "risk_scores",
    metadata,
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("scorecard", String(40), nullable=False),
    Column("scorecard_version", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("band", String(16), nullable=False),
    Column("grade", String(2), nullable=True),
    Column("explanation", JSONType, nullable=False),
    Column("grid_code", String(32), nullable=True, index=True),
    Column("street_code", String(32), nullable=True, index=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("subject_kind", "subject_id", name="pk_risk_scores"),
)

risk_score_history = Table(
    "risk_score_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(64), nullable=False, index=True),
    Column("score", Float, nullable=False),
    Column("band", String(16), nullable=False),
    Column("grade", String(2), nullable=True),
    Column("previous_score", Float, nullable=True),
    Column("previous_band", String(16), nullable=True),
    Column("previous_grade", String(2), nullable=True),
    Column("cause", JSONType, nullable=False),
    Column("explanation", JSONType, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

risk_outcomes = Table(
    "risk_outcomes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), nullable=False, index=True),
    Column("ledger_seq", BigInteger, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("subjects", JSONType, nullable=False),
    Column("applied_at", UTCDateTime(), nullable=False),
    UniqueConstraint("ledger_seq", name="uq_risk_outcomes_ledger_seq"),
)

risk_cursor = Table(
    "risk_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

risk_draws = Table(
    "risk_draws",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("street_code", String(32), nullable=False, index=True),
    Column("subject_kind", String(16), nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("size", Integer, nullable=False),
    Column("tilt", Float, nullable=False),
    Column("population", Integer, nullable=False),
    Column("population_sha256", String(64), nullable=False),
    Column("picked", JSONType, nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)


def new_case_entries(
    conn: Connection, after: int, actions: tuple[str, ...], *, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Ledger entries after ``after`` (by seq), up to ``limit`` scanned; those whose action is
    one of ``actions`` are returned with the last seq scanned (the next cursor)."""
    le = ledger_entries
    rows = conn.execute(
        select(le.c.seq, le.c.action, le.c.target_type, le.c.target_id, le.c.after, le.c.at)
        .where(le.c.seq > after)
        .order_by(le.c.seq)
        .limit(limit)
    ).all()
    if not rows:
        return [], after
    picked = [dict(r._mapping) for r in rows if r.action in actions]
    return picked, int(rows[-1].seq)
