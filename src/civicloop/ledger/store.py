"""Ledger tables: the append-only entries and a one-row head (last seq and hash).

The head row is what serialises appends on PostgreSQL (``SELECT … FOR UPDATE``); on SQLite the
``BEGIN IMMEDIATE`` write lock already does. UPDATE and DELETE on entries are rejected by
triggers created in the migration (see ``TRIGGERS_SQLITE`` / ``TRIGGERS_POSTGRESQL``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Integer, String, Table, select

from civicloop.core.db import JSONType, UTCDateTime, metadata
from civicloop.ledger.model import LedgerEntry

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
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

ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

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


def lock_head(conn: Connection) -> tuple[int, str] | None:
    row = conn.execute(
        select(ledger_head.c.seq, ledger_head.c.hash).where(ledger_head.c.id == 1).with_for_update()
    ).first()
    return (int(row.seq), str(row.hash)) if row else None


def insert_entries(conn: Connection, entries: list[LedgerEntry], *, head_exists: bool) -> None:
    conn.execute(
        ledger_entries.insert(),
        [
            {
                "seq": e.seq, "at": e.at, "actor_id": e.actor_id, "actor_role": e.actor_role,
                "action": e.action, "target_type": e.target_type, "target_id": e.target_id,
                "before": e.before, "after": e.after, "request_id": e.request_id,
                "prev_hash": e.prev_hash, "hash": e.hash,
            }
            for e in entries
        ],
    )
    last = entries[-1]
    if head_exists:
        conn.execute(ledger_head.update().where(ledger_head.c.id == 1).values(seq=last.seq, hash=last.hash))
    else:
        conn.execute(ledger_head.insert().values(id=1, seq=last.seq, hash=last.hash))


def _row_to_entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        seq=int(row.seq), at=row.at, actor_id=row.actor_id, actor_role=row.actor_role,
        action=row.action, target_type=row.target_type, target_id=row.target_id,
        before=row.before, after=row.after, request_id=row.request_id,
        prev_hash=row.prev_hash, hash=row.hash,
    )


def iter_entries(conn: Connection, *, batch: int = 5000) -> Iterator[list[LedgerEntry]]:
    after = 0
    while True:
        rows = conn.execute(
            select(ledger_entries).where(ledger_entries.c.seq > after)
            .order_by(ledger_entries.c.seq).limit(batch)
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


def read_head(conn: Connection) -> tuple[int, str] | None:
    row = conn.execute(select(ledger_head.c.seq, ledger_head.c.hash).where(ledger_head.c.id == 1)).first()
    return (int(row.seq), str(row.hash)) if row else None


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
