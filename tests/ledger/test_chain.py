"""The hash chain, without a database."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime

from civicloop.ledger.model import GENESIS, LedgerEntry, canonical_json, check_chain


def _chain(n: int) -> list[LedgerEntry]:
    out, prev = [], GENESIS
    for i in range(1, n + 1):
        e = LedgerEntry(
            seq=i,
            at=datetime(2026, 11, 27, 1, 2, 3, i, tzinfo=UTC),
            actor_id="u1",
            actor_role="operator",
            action="case.accepted",
            target_type="case",
            target_id=f"c{i}",
            before={"status": "reported"},
            after={"status": "accepted"},
            request_id="r",
            prev_hash=prev,
        )
        e = replace(e, hash=e.compute_hash())
        out.append(e)
        prev = e.hash
    return out


def test_an_intact_chain_verifies() -> None:
    assert check_chain(_chain(20), GENESIS, 1)[0] == 0


def test_the_hash_is_sha256_over_canonical_json_anyone_can_recompute() -> None:
    e = _chain(1)[0]
    body = json.dumps(e.body(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(body.encode()).hexdigest() == e.hash
    assert canonical_json({"b": 1, "a": "浦东"}) == '{"a":"浦东","b":1}'


def test_a_changed_entry_is_named() -> None:
    chain = _chain(10)
    chain[4] = replace(chain[4], after={"status": "closed"})
    bad, reason, _ = check_chain(chain, GENESIS, 1)
    assert bad == 5 and "content" in reason


def test_a_rehashed_entry_breaks_the_next_link() -> None:
    chain = _chain(10)
    forged = replace(chain[4], after={"status": "closed"})
    chain[4] = replace(forged, hash=forged.compute_hash())
    bad, reason, _ = check_chain(chain, GENESIS, 1)
    assert bad == 6 and "link" in reason


def test_a_deleted_entry_is_a_gap() -> None:
    chain = _chain(10)
    del chain[3]
    bad, reason, _ = check_chain(chain, GENESIS, 1)
    assert bad == 5 and "gap" in reason
