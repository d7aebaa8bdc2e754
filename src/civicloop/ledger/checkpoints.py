"""Signed checkpoints of the ledger and the proofs that tie entries and checkpoints together.

A checkpoint is (id, tree size, Merkle root, time) signed with the platform's Ed25519 key (see
:mod:`ledger.signing`); the tree is the RFC 6962 tree over the first ``tree_size`` entries (see
:mod:`ledger.merkle`). Once published, a checkpoint lets anyone check:

* **inclusion** — entry ``seq`` is leaf ``seq - 1`` of the checkpoint's tree (a log2(n) path);
* **consistency** — a later checkpoint's tree extends an earlier one's, so nothing recorded
  before the earlier checkpoint was rewritten afterwards.

Checkpoints are taken hourly by the server's jobs (:mod:`civicloop.jobs`) or by
``civicloop ledger checkpoint``;
taking one when nothing was appended is a no-op that returns the latest. The perfect subtrees of
2^8 leaves and up are stored (``ledger_tree_nodes``) as a checkpoint is taken, so a root or a
proof costs O(log n) reads; ``verify_checkpoints`` ignores them and recomputes every root from
the chain in one streaming pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from civicloop.core.clock import iso
from civicloop.core.db import Database
from civicloop.core.errors import InputError, NotFoundError
from civicloop.ledger import merkle, store
from civicloop.ledger.signing import checkpoint_message, load_signer, verify_signature
from civicloop.runtime import Platform

log = logging.getLogger("civicloop.ledger")

CHECKPOINT_LOCK = 0x6C6564676572 + 1  # PostgreSQL advisory lock: one checkpoint writer at a time
LEAF_CHUNK = 1 << store.NODE_MIN_LEVEL
READ_BATCH = 1 << 17  # chain hashes read per query while building nodes


@dataclass(frozen=True)
class Checkpoint:
    id: int
    tree_size: int
    root_hash: str
    at: datetime
    key_id: str
    public_key: str
    signature: str

    def message(self) -> bytes:
        return checkpoint_message(self.tree_size, self.root_hash, iso(self.at))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "at": iso(self.at),
            "key_id": self.key_id,
            "public_key": self.public_key,
            "signature": self.signature,
            "signed_message": self.message().decode(),
        }


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(
        id=int(row.id),
        tree_size=int(row.tree_size),
        root_hash=row.root_hash,
        at=row.at,
        key_id=row.key_id,
        public_key=row.public_key,
        signature=row.signature,
    )


# -- the tree over stored data ----------------------------------------------------------------


class TreeReader:
    """Subtree hashes of the ledger: stored perfect nodes where they exist, leaves otherwise."""

    def __init__(
        self, conn: Connection, overlay: dict[tuple[int, int], bytes] | None = None
    ) -> None:
        self.conn = conn
        self.overlay = overlay or {}  # (level, idx) → hash of nodes computed but not yet stored
        self._memo: dict[tuple[int, int], bytes] = {}

    def leaves(self, start: int, end: int) -> list[bytes]:
        return merkle.entry_leaves(store.chain_hashes(self.conn, start + 1, end))

    def subtree(self, start: int, end: int) -> bytes:
        key = (start, end)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        size = end - start
        h: bytes | None = None
        if size <= LEAF_CHUNK:
            leaves = self.leaves(start, end)
            if len(leaves) != size:
                raise NotFoundError(
                    f"the ledger has no entries {start + 1}..{end}", code="ledger.not_found"
                )
            h = merkle.root_of(leaves)
        else:
            if size & (size - 1) == 0 and start % size == 0:
                level = size.bit_length() - 1
                h = self.overlay.get((level, start >> level))
                if h is None:
                    h = store.read_node(self.conn, level, start >> level)
            if h is None:
                k = merkle.split_point(size)
                h = merkle.node_hash(self.subtree(start, start + k), self.subtree(start + k, end))
        self._memo[key] = h
        return h


def _new_nodes(conn: Connection, size: int) -> dict[int, tuple[int, list[bytes]]]:
    """Every perfect subtree of ≥ 2^NODE_MIN_LEVEL leaves within [0, size) not stored yet:
    level → (first index, hashes). Reads only; the caller stores them."""
    base = store.NODE_MIN_LEVEL
    have, want = store.node_count(conn, base), size >> base
    out: dict[int, tuple[int, list[bytes]]] = {}
    roots: list[bytes] = []
    chunk = have
    while chunk < want:
        last = min(want, chunk + READ_BATCH // LEAF_CHUNK)
        leaves = merkle.entry_leaves(
            store.chain_hashes(conn, chunk * LEAF_CHUNK + 1, last * LEAF_CHUNK)
        )
        roots += [
            merkle.perfect_root(leaves[i : i + LEAF_CHUNK])
            for i in range(0, len(leaves), LEAF_CHUNK)
        ]
        chunk = last
    out[base] = (have, roots)
    level = base + 1
    while size >> level:
        have, want = store.node_count(conn, level), size >> level
        if want > have:
            below_first, below_new = out[level - 1]
            first_child, last_child = 2 * have, 2 * want - 1
            stored = (
                store.read_nodes(conn, level - 1, first_child, below_first - 1)
                if first_child < below_first
                else []
            )
            children = stored + below_new[max(0, first_child - below_first) :]
            children = children[: last_child - first_child + 1]
            out[level] = (
                have,
                [
                    merkle.node_hash(children[i], children[i + 1])
                    for i in range(0, len(children), 2)
                ],
            )
        else:
            out[level] = (have, [])
        level += 1
    return out


# -- use cases ----------------------------------------------------------------------------------


def create_checkpoint(p: Platform) -> Checkpoint | None:
    """Sign the current ledger's root; returns the latest checkpoint when nothing was appended
    since (and None while the ledger is empty).

    The hashing runs in a read snapshot (entries never change, so a snapshot is as good as a
    lock) and only the inserts take the write lock: the first checkpoint of a large ledger does
    not stall the platform's writers for the seconds it takes."""
    signer = load_signer(p.settings.data_dir)
    with p.db.read() as conn:
        last = store.read_checkpoint(conn, None)
        size = store.max_seq(conn)
        if size == 0:
            return None
        if last is not None and int(last.tree_size) >= size:
            return _checkpoint(last)
        nodes = _new_nodes(conn, size)
        overlay = {
            (level, first + i): h
            for level, (first, hashes) in nodes.items()
            for i, h in enumerate(hashes)
        }
        root = TreeReader(conn, overlay).subtree(0, size).hex()
    at = p.clock.now()
    with p.db.write() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CHECKPOINT_LOCK})")
        latest = store.read_checkpoint(conn, None)
        if latest is not None and int(latest.tree_size) >= size:
            return _checkpoint(latest)  # another process checkpointed meanwhile
        for level, (first, hashes) in nodes.items():
            stored = store.node_count(conn, level)  # skip what another process stored meanwhile
            store.insert_nodes(conn, level, max(first, stored), hashes[max(0, stored - first) :])
        cp = Checkpoint(
            id=(int(latest.id) if latest is not None else 0) + 1,
            tree_size=size,
            root_hash=root,
            at=at,
            key_id=signer.key_id,
            public_key=signer.public_hex,
            signature=signer.sign(checkpoint_message(size, root, iso(at))),
        )
        store.insert_checkpoint(conn, {f: getattr(cp, f) for f in cp.__dataclass_fields__})
        return cp


def read_checkpoint(db: Database, checkpoint_id: int | None = None) -> Checkpoint:
    """One checkpoint (the latest when ``checkpoint_id`` is None); NotFoundError if missing."""
    with db.read() as conn:
        row = store.read_checkpoint(conn, checkpoint_id)
    if row is None:
        raise NotFoundError(
            "no such checkpoint" if checkpoint_id is not None else "no checkpoint yet",
            code="ledger.checkpoint_not_found",
        )
    return _checkpoint(row)


def list_checkpoints(
    db: Database, *, limit: int = 100, before: int | None = None
) -> list[Checkpoint]:
    """Checkpoints, newest first."""
    with db.read() as conn:
        return [_checkpoint(r) for r in store.list_checkpoints(conn, limit=limit, before=before)]


def prove_inclusion(
    db: Database, seq: int, checkpoint_id: int | None = None, *, with_entry: bool = True
) -> dict[str, Any]:
    """The audit path of entry ``seq`` in a checkpoint's tree (the latest by default).

    Raises NotFoundError for an unknown entry or checkpoint, InputError when the entry came
    after the checkpoint. ``verified`` says whether the path leads to the signed root *now*:
    False means the stored entry changed after the checkpoint was signed.
    """
    cp = read_checkpoint(db, checkpoint_id)
    with db.read() as conn:
        entry = store.read_entry(conn, seq)
        if entry is None:
            raise NotFoundError(f"no ledger entry {seq}", code="ledger.not_found")
        if seq > cp.tree_size:
            raise InputError(
                f"entry {seq} was appended after checkpoint {cp.id} (size {cp.tree_size});"
                " take a newer checkpoint",
                field="checkpoint",
                rule="covers_entry",
            )
        reader = TreeReader(conn)
        path = merkle.inclusion_proof(seq - 1, cp.tree_size, reader.subtree)
    leaf = merkle.entry_leaf(entry.hash)
    body = {**entry.body(), "hash": entry.hash}
    return {
        "seq": seq,
        "leaf_index": seq - 1,
        "tree_size": cp.tree_size,
        "entry_hash": entry.hash,
        "leaf_hash": leaf.hex(),
        "audit_path": [h.hex() for h in path],
        "checkpoint": cp.as_dict(),
        "entry": body if with_entry else None,
        "verified": merkle.verify_inclusion(
            seq - 1, cp.tree_size, leaf, path, bytes.fromhex(cp.root_hash)
        ),
    }


def prove_consistency(db: Database, first_id: int, second_id: int) -> dict[str, Any]:
    """The RFC 6962 consistency proof from checkpoint ``first_id`` to ``second_id``."""
    first, second = read_checkpoint(db, first_id), read_checkpoint(db, second_id)
    if first.tree_size > second.tree_size:
        raise InputError(
            "the first checkpoint must not be newer than the second",
            field="first",
            rule="order",
        )
    with db.read() as conn:
        proof = merkle.consistency_proof(
            first.tree_size, second.tree_size, TreeReader(conn).subtree
        )
    return {
        "first": first.as_dict(),
        "second": second.as_dict(),
        "proof": [h.hex() for h in proof],
        "verified": merkle.verify_consistency(
            first.tree_size,
            second.tree_size,
            bytes.fromhex(first.root_hash),
            bytes.fromhex(second.root_hash),
            proof,
        ),
    }


@dataclass(frozen=True)
class CheckpointReport:
    checkpoints: int
    problems: tuple[str, ...]
    foreign_keys: tuple[str, ...]  # key ids that are not this platform's key


def verify_checkpoints(db: Database, local_public_key: str | None = None) -> CheckpointReport:
    """Recompute every checkpoint's root from the chain hashes (one streaming pass, ignoring the
    stored nodes) and check every signature."""
    problems: list[str] = []
    foreign: set[str] = set()
    with db.read() as conn:
        cps = [_checkpoint(r) for r in store.all_checkpoints(conn)]
        frontier = merkle.Frontier()
        pending = sorted(cps, key=lambda c: c.tree_size)
        i = 0
        while i < len(pending):
            target = pending[i].tree_size
            while frontier.size < target:
                hashes = store.chain_hashes(
                    conn, frontier.size + 1, min(target, frontier.size + READ_BATCH)
                )
                if not hashes:
                    break
                for leaf in merkle.entry_leaves(hashes):
                    frontier.append(leaf)
            cp = pending[i]
            if frontier.size < target:
                problems.append(f"checkpoint {cp.id}: the ledger has fewer than {target} entries")
            elif frontier.root().hex() != cp.root_hash:
                problems.append(f"checkpoint {cp.id}: root does not match the ledger's entries")
            if not verify_signature(cp.public_key, cp.signature, cp.message()):
                problems.append(f"checkpoint {cp.id}: bad signature")
            if local_public_key and cp.public_key != local_public_key:
                foreign.add(cp.key_id)
            i += 1
    return CheckpointReport(len(cps), tuple(problems), tuple(sorted(foreign)))
