"""Appending to and verifying the ledger.

``record`` is called by every service inside its own write transaction, so the action and its
trace commit or roll back together. Entries are hashed here, in Python, where the same code that
verifies them also builds them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from civicloop.core.db import Database
from civicloop.core.rawsql import Raw
from civicloop.ledger import store
from civicloop.ledger.model import GENESIS, LedgerEntry, VerifyReport, check_chain, plain
from civicloop.org.model import Actor


@dataclass
class Action:
    """One action to trace: past-tense dotted name, target, before/after snapshots."""

    action: str
    target_type: str
    target_id: str
    before: Any = None
    after: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def record(
    conn: Connection, actor: Actor, actions: list[Action], *, at: datetime, request_id: str
) -> list[LedgerEntry]:
    """Append ``actions`` as consecutive entries in the caller's transaction."""
    raw = Raw(conn)
    # On SQLite the writer connection remembers the chain's tail between its transactions
    # (one query less per action). Another process may have appended meanwhile: then the
    # first seq collides with the primary key and the tail is read again.
    memo = conn.info.setdefault("tx_memo", {}) if raw.is_sqlite else None
    head = memo.get("ledger_tail") if memo is not None else None
    cached = head is not None
    if head is None:
        head = store.last_entry(raw)
    entries = _seal(actor, actions, head or (0, GENESIS), at, request_id)
    if not entries:
        return entries
    try:
        store.insert_entries(raw, entries)
    except sqlite3.IntegrityError:
        if not cached:
            raise
        entries = _seal(actor, actions, store.last_entry(raw) or (0, GENESIS), at, request_id)
        store.insert_entries(raw, entries)
    if memo is not None:
        memo["ledger_tail"] = (entries[-1].seq, entries[-1].hash)
    return entries


def _seal(
    actor: Actor,
    actions: list[Action],
    head: tuple[int, str],
    at: datetime,
    request_id: str,
) -> list[LedgerEntry]:
    """The entries for ``actions`` after ``head`` (seq, hash), each hashed onto the previous."""
    seq, prev = head
    entries: list[LedgerEntry] = []
    for a in actions:
        seq += 1
        after = plain(a.after)
        if a.extra:
            after = (
                {**(after or {}), **plain(a.extra)}
                if isinstance(after, dict) or after is None
                else after
            )
        draft = LedgerEntry(
            seq=seq,
            at=at,
            actor_id=actor.id,
            actor_role=str(actor.role),
            action=a.action,
            target_type=a.target_type,
            target_id=a.target_id,
            before=plain(a.before),
            after=after,
            request_id=request_id or "-",
            prev_hash=prev,
        )
        entry = replace(draft, hash=draft.compute_hash())
        entries.append(entry)
        prev = entry.hash
    return entries


def verify(db: Database, progress: Callable[[int, int], None] | None = None) -> VerifyReport:
    """Recompute the whole chain; name the first entry that disagrees.

    Warns when the append-only triggers are missing (someone with file access dropped them).
    ``progress(done, total)`` is called after each batch (the CLI draws a bar with it).
    """
    warnings: list[str] = []
    prev, expected, count = GENESIS, 1, 0
    with db.read() as conn:
        if not store.triggers_present(conn):
            warnings.append("append-only triggers on ledger_entries are missing")
        total = store.count_entries(conn)
        for batch in store.iter_entries(conn):
            if progress is not None:
                progress(count + len(batch), total)
            bad, reason, prev = check_chain(batch, prev, expected)
            if bad:
                return VerifyReport(
                    entries=count, ok=False, bad_seq=bad, reason=reason, warnings=tuple(warnings)
                )
            count += len(batch)
            expected = batch[-1].seq + 1
    return VerifyReport(entries=count, ok=True, warnings=tuple(warnings))


def timeline(db: Database, target_type: str, target_id: str) -> list[LedgerEntry]:
    with db.read() as conn:
        return store.list_for_target(conn, target_type, target_id)
