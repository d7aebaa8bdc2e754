"""Ledger tables: the append-only entries, and the checkpoints and tree nodes that prove them.

Appends are serialised by the database: on SQLite the ``BEGIN IMMEDIATE`` write lock, on
PostgreSQL a transaction-scoped advisory lock (``APPEND_LOCK``) taken before the last entry is
read. UPDATE and DELETE on entries are rejected by triggers created in the migration (see
``TRIGGERS_SQLITE`` / ``TRIGGERS_POSTGRESQL``).

``ledger_checkpoints`` holds the signed Merkle roots (see :mod:`ledger.checkpoints`);
``ledger_tree_nodes`` the hashes of the perfect, aligned subtrees of 2^level leaves for level ≥
``NODE_MIN_LEVEL``, so a root or a proof needs O(log n) node reads and at most 2^level leaves
instead of the whole ledger. Both are derived data: ``ledger verify`` recomputes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    select,
)

from civicloop.core.db import JSONType, UTCDateTime, metadata
from civicloop.core.rawsql import Raw
from civicloop.ledger.model import LedgerEntry

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=False),
    Column("target_id", String(64), nullable=False, index=True),
    Column("before", JSONType),
    Column("after", JSONType),
    Column("request_id", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tree_size", BigInteger().with_variant(Integer, "sqlite"), nullable=False, unique=True),
    Column("root_hash", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("public_key", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
)

ledger_tree_nodes = Table(
    "ledger_tree_nodes",
    metadata,
    Column("level", Integer, nullable=False),
    Column("idx", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    PrimaryKeyConstraint("level", "idx"),
)

# Subtrees of 2^8 = 256 leaves and up are stored: n/128 rows for n entries, and a proof reads at
# most 256 chain hashes beside O(log n) nodes.
NODE_MIN_LEVEL = 8

# An arbitrary constant: the advisory-lock key of "appending to the ledger" on PostgreSQL.
APPEND_LOCK = 0x6C6564676572

TRIGGERS_SQLITE = [
    """CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END""",
    """CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END""",
]
TRIGGERS_POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'ledger entries are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE OR DELETE ON ledger_entries
       FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()""",
    """CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
       FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only()""",
]


def last_entry(raw: Raw) -> tuple[int, str] | None:
    """The newest (seq, hash), read after taking the append lock (hot path: raw SQL)."""
    if not raw.is_sqlite:
        raw.one("SELECT pg_advisory_xact_lock(:k)", {"k": APPEND_LOCK})
    row = raw.one("SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1")
    return (int(row["seq"]), str(row["hash"])) if row else None


def insert_entries(raw: Raw, entries: list[LedgerEntry]) -> None:
    raw.many(
        "INSERT INTO ledger_entries (seq, at, actor_id, actor_role, action, target_type, target_id,"
        " before, after, request_id, prev_hash, hash) VALUES (:seq, :at, :actor_id, :actor_role,"
        " :action, :target_type, :target_id, :before, :after, :request_id, :prev_hash, :hash)",
        [
            {
                "seq": e.seq,
                "at": raw.ts(e.at),
                "actor_id": e.actor_id,
                "actor_role": e.actor_role,
                "action": e.action,
                "target_type": e.target_type,
                "target_id": e.target_id,
                "before": raw.js(e.before),
                "after": raw.js(e.after),
                "request_id": e.request_id,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in entries
        ],
    )


def _row_to_entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        seq=int(row.seq),
        at=row.at,
        actor_id=row.actor_id,
        actor_role=row.actor_role,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        before=row.before,
        after=row.after,
        request_id=row.request_id,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def iter_entries(conn: Connection, *, batch: int = 5000) -> Iterator[list[LedgerEntry]]:
    after = 0
    while True:
        rows = conn.execute(
            select(ledger_entries)
            .where(ledger_entries.c.seq > after)
            .order_by(ledger_entries.c.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        entries = [_row_to_entry(r) for r in rows]
        yield entries
        after = entries[-1].seq


def list_for_target(conn: Connection, target_type: str, target_id: str) -> list[LedgerEntry]:
    rows = conn.execute(
        select(ledger_entries)
        .where(ledger_entries.c.target_type == target_type, ledger_entries.c.target_id == target_id)
        .order_by(ledger_entries.c.seq)
    ).all()
    return [_row_to_entry(r) for r in rows]


def count_entries(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(ledger_entries)).scalar() or 0)


def triggers_present(conn: Connection) -> bool:
    if conn.dialect.name == "sqlite":
        n = conn.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE type='trigger' AND tbl_name='ledger_entries'"
        ).scalar()
        return bool(n and n >= 2)
    n = conn.exec_driver_sql(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ledger_entries'::regclass AND NOT tgisinternal"
    ).scalar()
    return bool(n and n >= 2)


# -- checkpoints and tree nodes ---------------------------------------------------------------


def chain_hashes(conn: Connection, first_seq: int, last_seq: int) -> list[str]:
    """The chain hashes of entries ``first_seq..last_seq`` (inclusive), in order.

    Hot (a checkpoint over a million entries reads them all): the driver's cursor directly,
    about three times faster than result rows."""
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    cur = conn.connection.cursor()
    try:
        cur.execute(
            f"SELECT hash FROM ledger_entries WHERE seq BETWEEN {mark} AND {mark} ORDER BY seq",
            (first_seq, last_seq),
        )
        return [h for (h,) in cur.fetchall()]
    finally:
        cur.close()


def read_entry(conn: Connection, seq: int) -> LedgerEntry | None:
    row = conn.execute(select(ledger_entries).where(ledger_entries.c.seq == seq)).first()
    return _row_to_entry(row) if row is not None else None


def max_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.max(ledger_entries.c.seq))).scalar() or 0)


def node_count(conn: Connection, level: int) -> int:
    n = ledger_tree_nodes.c
    return int(
        conn.execute(
            select(func.count()).select_from(ledger_tree_nodes).where(n.level == level)
        ).scalar()
        or 0
    )


def read_node(conn: Connection, level: int, idx: int) -> bytes | None:
    n = ledger_tree_nodes.c
    v = conn.execute(select(n.hash).where(n.level == level, n.idx == idx)).scalar()
    return bytes(v) if v is not None else None


def read_nodes(conn: Connection, level: int, first: int, last: int) -> list[bytes]:
    """Node hashes ``first..last`` (inclusive) of one level, in order."""
    n = ledger_tree_nodes.c
    rows = conn.execute(
        select(n.hash).where(n.level == level, n.idx >= first, n.idx <= last).order_by(n.idx)
    ).all()
    return [bytes(r[0]) for r in rows]


def insert_nodes(conn: Connection, level: int, first: int, hashes: list[bytes]) -> None:
    if hashes:
        conn.execute(
            ledger_tree_nodes.insert(),
            [{"level": level, "idx": first + i, "hash": h} for i, h in enumerate(hashes)],
        )


def insert_checkpoint(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(ledger_checkpoints.insert().values(**row))


def list_checkpoints(conn: Connection, *, limit: int = 100, before: int | None = None) -> list[Any]:
    c = ledger_checkpoints.c
    q = select(ledger_checkpoints).order_by(c.id.desc()).limit(limit)
    if before is not None:
        q = q.where(c.id < before)
    return list(conn.execute(q).all())


def all_checkpoints(conn: Connection) -> list[Any]:
    return list(conn.execute(select(ledger_checkpoints).order_by(ledger_checkpoints.c.id)).all())


def read_checkpoint(conn: Connection, checkpoint_id: int | None) -> Any:
    """One checkpoint by id, or the latest when ``checkpoint_id`` is None (None if there is none)."""
    c = ledger_checkpoints.c
    q = select(ledger_checkpoints)
    q = (
        q.order_by(c.id.desc()).limit(1)
        if checkpoint_id is None
        else q.where(c.id == checkpoint_id)
    )
    return conn.execute(q).first()
