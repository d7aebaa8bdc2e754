"""Benchmark: signed Merkle checkpoints over a large ledger, and proofs against them.

Fills a fresh SQLite ledger with N entries (default 1,000,000; real chain hashes, appended in
large batches through the ledger's own insert), then measures:

* the first checkpoint (builds every stored subtree node from scratch) and an incremental one
  after 10,000 more entries;
* inclusion proofs (p50/p99) and a consistency proof between the two checkpoints;
* ``verify_checkpoints`` (streams the whole ledger once, recomputing every root);
* the baseline in the same run: the plain RFC 6962 root computed in memory from the hash
  column (what any verifier has to do at least), so ``checkpoint_baseline_ratio`` says what the
  stored nodes and signing cost on top.

Last line: one JSON object (``*_ms``, ``*_s``, ``*_per_s``, ``*ratio``).
"""

from __future__ import annotations

import argparse
import hashlib
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
from civicloop.ledger import checkpoints as cps
from civicloop.ledger import merkle, store
from civicloop.ledger.model import GENESIS, LedgerEntry, canonical_json
from civicloop.runtime import Platform

T0 = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)


def fill(p: Platform, start: int, n: int, prev: str) -> str:
    batch: list[LedgerEntry] = []
    for seq in range(start, start + n):
        e = LedgerEntry(
            seq,
            T0,
            "bench",
            "admin",
            "bench.appended",
            "bench",
            str(seq),
            None,
            {"i": seq},
            "bench",
            prev,
        )
        h = hashlib.sha256(canonical_json(e.body()).encode()).hexdigest()
        batch.append(LedgerEntry(**{**e.__dict__, "hash": h}))
        prev = h
        if len(batch) == 50_000:
            with p.db.write() as conn:
                store.insert_entries(Raw(conn), batch)
            batch = []
    if batch:
        with p.db.write() as conn:
            store.insert_entries(Raw(conn), batch)
    return prev


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    args = ap.parse_args()
    n = args.entries
    with tempfile.TemporaryDirectory() as tmp:
        p = Platform.open(
            Settings(data_dir=Path(tmp), sweep_interval_seconds=0), clock=FrozenClock(T0)
        )
        t = time.perf_counter()
        prev = fill(p, 1, n, GENESIS)
        print(f"filled {n:,} entries in {time.perf_counter() - t:.1f} s", file=sys.stderr)

        t = time.perf_counter()
        with p.db.read() as conn:
            leaves = merkle.entry_leaves(store.chain_hashes(conn, 1, n))
        baseline_root = merkle.root_of(leaves).hex()
        baseline_s = time.perf_counter() - t
        del leaves

        t = time.perf_counter()
        first = cps.create_checkpoint(p)
        first_s = time.perf_counter() - t
        assert first is not None and first.root_hash == baseline_root

        fill(p, n + 1, 10_000, prev)
        t = time.perf_counter()
        second = cps.create_checkpoint(p)
        incremental_ms = (time.perf_counter() - t) * 1000
        assert second is not None

        times = []
        for i in range(200):
            seq = 1 + (i * 7919 * 104729) % second.tree_size
            t = time.perf_counter()
            proof = cps.prove_inclusion(p.db, seq, second.id)
            times.append((time.perf_counter() - t) * 1000)
            assert proof["verified"]
        times.sort()
        t = time.perf_counter()
        cons = cps.prove_consistency(p.db, first.id, second.id)
        consistency_ms = (time.perf_counter() - t) * 1000
        assert cons["verified"]
        t = time.perf_counter()
        report = cps.verify_checkpoints(p.db)
        verify_s = time.perf_counter() - t
        assert not report.problems
        p.close()

    out = {
        "entries": n,
        "baseline_root_s": round(baseline_s, 2),
        "first_checkpoint_s": round(first_s, 2),
        "checkpoint_baseline_ratio": round(first_s / baseline_s, 2),
        "incremental_checkpoint_ms": round(incremental_ms, 1),
        "proof_p50_ms": round(statistics.median(times), 2),
        "proof_p99_ms": round(times[int(len(times) * 0.99) - 1], 2),
        "consistency_ms": round(consistency_ms, 2),
        "verify_checkpoints_s": round(verify_s, 2),
        "checkpoint_entries_per_s": round(n / first_s),
    }
    for k, v in out.items():
        print(f"{k:28} {v}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
