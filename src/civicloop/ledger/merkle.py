"""Merkle trees over the ledger (RFC 6962 / RFC 9162 §2.1), so anyone can check a checkpoint.

The hash chain proves the ledger is intact only to someone who re-reads all of it. A Merkle
tree lets a citizen or auditor check *one* entry against a published, signed root with
log2(n) hashes (an inclusion proof), and check that a later checkpoint extends an earlier one
without rewriting it (a consistency proof).

Hashing (RFC 6962 §2.1):

* leaf ``i`` (entry ``seq = i + 1``) = SHA-256(0x00 || the 32 raw bytes of the entry's chain
  hash). The chain hash is SHA-256 of the entry's canonical JSON (see :mod:`ledger.model`), so
  the leaf commits to the entry's whole content, and the tree is built from one stored column;
* node = SHA-256(0x01 || left || right);
* the tree over ``n`` leaves splits at the largest power of two smaller than ``n``.

Everything here is pure and works on any "subtree hash" source: a list of leaf hashes in tests,
stored level hashes in :mod:`ledger.checkpoints`. Proof generation follows RFC 6962 §2.1.1 and
§2.1.2 (``PATH`` and ``SUBPROOF``); verification follows RFC 9162 §2.1.3.2 and §2.1.4.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

# Subtree hash source: (start, end) → MTH(D[start:end]), with end > start.
SubtreeHash = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def entry_leaf(chain_hash_hex: str) -> bytes:
    """The leaf hash of a ledger entry, from its (hex) chain hash."""
    return hashlib.sha256(b"\x00" + bytes.fromhex(chain_hash_hex)).digest()


def entry_leaves(chain_hashes_hex: Sequence[str]) -> list[bytes]:
    """:func:`entry_leaf` over many entries (the checkpoint's hot loop, kept tight)."""
    sha, unhex = hashlib.sha256, bytes.fromhex
    return [sha(b"\x00" + unhex(h)).digest() for h in chain_hashes_hex]


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_root(leaves: Sequence[bytes]) -> bytes:
    """The root of a perfect subtree (len(leaves) a power of two), bottom-up in O(n)."""
    level = list(leaves)
    sha = hashlib.sha256
    while len(level) > 1:
        level = [sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    return level[0]


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over any number of leaf hashes, in O(n): perfect subtrees right to left."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    # decompose n into its powers of two (left to right: biggest first), then fold from the right
    parts: list[bytes] = []
    start = 0
    for bit in reversed(range(n.bit_length())):
        size = 1 << bit
        if n & size:
            parts.append(perfect_root(leaves[start : start + size]))
            start += size
    acc = parts[-1]
    for h in reversed(parts[:-1]):
        acc = node_hash(h, acc)
    return acc


def list_source(leaves: Sequence[bytes]) -> SubtreeHash:
    """A subtree-hash source over an in-memory list of leaf hashes (tests, small trees)."""
    return lambda start, end: root_of(leaves[start:end])


def inclusion_proof(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """RFC 6962 PATH(index, D[0:size]): the audit path, leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is outside a tree of {size}")
    path: list[bytes] = []
    start, end = 0, size
    # walk down, collecting siblings root-side first, then reverse
    while end - start > 1:
        k = split_point(end - start)
        if index - start < k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(old: int, new: int, subtree: SubtreeHash) -> list[bytes]:
    """RFC 6962 PROOF(old, D[0:new]) = SUBPROOF(old, D[0:new], true)."""
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from {old} to {new}")
    proof: list[bytes] = []

    def sub(m: int, start: int, end: int, complete: bool) -> None:
        n = end - start
        if m == n:
            if not complete:
                proof.append(subtree(start, end))
            return
        k = split_point(n)
        if m <= k:
            sub(m, start, start + k, complete)
            proof.append(subtree(start + k, end))
        else:
            sub(m - k, start + k, end, False)
            proof.append(subtree(start, start + k))

    sub(old, 0, new, True)
    return proof


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root an inclusion proof leads to (raises on a malformed proof)."""
    if not 0 <= index < size:
        raise ValueError("leaf index outside the tree")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    try:
        return root_from_inclusion(index, size, leaf, path) == root
    except ValueError:
        return False


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does the tree of ``new`` leaves extend the tree of ``old`` leaves?"""
    if not 0 < old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    path = list(proof)
    if old & (old - 1) == 0:  # old is a power of two: its root is the first node of the path
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class Frontier:
    """A streaming MTH: append leaves one by one, read the root of the prefix at any time.

    Keeps the perfect subtrees of the prefix (at most log2(n) of them), like a binary counter,
    so recomputing every checkpoint's root while reading the ledger once is O(n).
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (subtree size, hash), biggest first

    def append(self, leaf: bytes) -> None:
        size, h = 1, leaf
        stack = self._stack
        while stack and stack[-1][0] == size:
            _, left = stack.pop()
            h = hashlib.sha256(b"\x01" + left + h).digest()
            size *= 2
        stack.append((size, h))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        acc = self._stack[-1][1]
        for _, h in reversed(self._stack[:-1]):
            acc = node_hash(h, acc)
        return acc
