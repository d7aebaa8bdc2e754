"""Appending to the ledger on a real database: the remembered tail never breaks the chain.

On SQLite the writer connection remembers the chain's last (seq, hash) between transactions.
Two ways it could go wrong are tested here: another process appends meanwhile (the database is
ahead of the memory), and a transaction that appended rolls back (the memory would be ahead of
the database).
"""

from __future__ import annotations

import pytest

from civicloop.core.settings import Settings
from civicloop.ledger.service import Action, record, verify
from civicloop.org.model import SYSTEM_ACTOR
from civicloop.runtime import Platform


def _append(p: Platform, name: str) -> int:
    with p.db.write() as conn:
        [entry] = record(
            conn, SYSTEM_ACTOR, [Action(name, "test", name)], at=p.clock.now(), request_id="t"
        )
    return entry.seq


def test_another_writer_appending_meanwhile_is_noticed(
    platform: Platform, settings: Settings
) -> None:
    first = _append(platform, "a.one")
    other = Platform.open(settings)  # a second process's platform on the same database
    try:
        assert _append(other, "b.one") == first + 1
        assert _append(other, "b.two") == first + 2
    finally:
        other.close()
    assert _append(platform, "a.two") == first + 3  # continues after the other's entries
    report = verify(platform.db)
    assert report.ok, report.reason


def test_a_rolled_back_append_leaves_no_gap(platform: Platform) -> None:
    first = _append(platform, "a.one")
    with pytest.raises(RuntimeError), platform.db.write() as conn:
        record(
            conn,
            SYSTEM_ACTOR,
            [Action("a.lost", "test", "x")],
            at=platform.clock.now(),
            request_id="t",
        )
        raise RuntimeError("the action failed after its trace was written")
    assert _append(platform, "a.two") == first + 1
    assert verify(platform.db).ok
