"""The ledger (留痕): a hash-chained, append-only record of every action.

Invariants:

* entries are numbered ``seq`` = 1, 2, 3 … without gaps;
* ``hash(n) = SHA-256(canonical_json(entry n without its hash, with prev = hash(n-1)))`` and the
  first entry's ``prev`` is :data:`GENESIS`;
* canonical JSON is UTF-8, keys sorted, no insignificant whitespace, times as ISO-8601 UTC with
  microseconds and ``Z`` — so any auditor can recompute a hash with any language's stdlib.

Rewriting one entry changes its hash and breaks the link from the next; the verifier names the
first entry whose stored hash or link disagrees with the recomputation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from civicloop.core.clock import iso

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def plain(value: Any) -> Any:
    """Make a before/after snapshot JSON-plain (datetimes → ISO text, tuples → lists, sets sorted)."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if hasattr(value, "value") and isinstance(value.value, str):  # StrEnum
        return str(value)
    return value


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    at: datetime
    actor_id: str
    actor_role: str
    action: str
    target_type: str
    target_id: str
    before: Any
    after: Any
    request_id: str
    prev_hash: str
    hash: str = ""

    def body(self) -> dict[str, Any]:
        """What the hash covers: everything but the hash itself."""
        return {
            "seq": self.seq,
            "at": iso(self.at),
            "actor": self.actor_id,
            "role": self.actor_role,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "before": self.before,
            "after": self.after,
            "request_id": self.request_id,
            "prev": self.prev_hash,
        }

    def compute_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.body()).encode()).hexdigest()


@dataclass(frozen=True)
class VerifyReport:
    """The verifier's finding: ``ok`` or the first bad entry and why."""

    entries: int
    ok: bool
    bad_seq: int | None = None
    reason: str = ""
    warnings: tuple[str, ...] = ()


def check_chain(
    entries: list[LedgerEntry], prev_hash: str, expected_seq: int
) -> tuple[int, str, str]:
    """Check a run of entries that should follow ``prev_hash``/``expected_seq``.

    Returns (bad seq or 0, reason, last hash). Pure, so it is tested without a database and
    used in batches by the verifier.
    """
    for entry in entries:
        if entry.seq != expected_seq:
            return entry.seq, f"sequence gap: expected {expected_seq}, found {entry.seq}", prev_hash
        if entry.prev_hash != prev_hash:
            return entry.seq, "link broken: prev_hash does not match the previous entry", prev_hash
        recomputed = entry.compute_hash()
        if recomputed != entry.hash:
            return entry.seq, "content changed: stored hash does not match the entry", prev_hash
        prev_hash = entry.hash
        expected_seq += 1
    return 0, "", prev_hash
