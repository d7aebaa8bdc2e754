"""RFC 6962 trees, proofs and their verification, without a database."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from civicloop.ledger import merkle


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(str(i).encode()) for i in range(n)]


def _naive_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, written exactly as the RFC recursion."""
    if len(leaves) == 1:
        return leaves[0]
    k = merkle.split_point(len(leaves))
    return merkle.node_hash(_naive_root(leaves[:k]), _naive_root(leaves[k:]))


def test_hashing_is_rfc6962_with_domain_separation() -> None:
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    a, b = b"a" * 32, b"b" * 32
    assert merkle.node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT


def test_the_rfc6962_reference_root_of_the_empty_string_leaf() -> None:
    # certificate-transparency test vector: MTH({""}) = SHA-256(0x00)
    assert (
        merkle.root_of([merkle.leaf_hash(b"")]).hex()
        == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )


@given(st.integers(min_value=1, max_value=300))
@settings(max_examples=60, deadline=None)
def test_root_and_frontier_equal_the_rfc_recursion(n: int) -> None:
    leaves = _leaves(n)
    expected = _naive_root(leaves)
    assert merkle.root_of(leaves) == expected
    f = merkle.Frontier()
    for leaf in leaves:
        f.append(leaf)
    assert f.root() == expected


@given(st.data())
@settings(max_examples=150, deadline=None)
def test_every_inclusion_proof_verifies_and_a_wrong_leaf_fails(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=1, max_value=200))
    i = data.draw(st.integers(min_value=0, max_value=n - 1))
    leaves = _leaves(n)
    root = merkle.root_of(leaves)
    path = merkle.inclusion_proof(i, n, merkle.list_source(leaves))
    assert merkle.verify_inclusion(i, n, leaves[i], path, root)
    assert not merkle.verify_inclusion(i, n, merkle.leaf_hash(b"forged"), path, root)
    if n > 1:
        assert not merkle.verify_inclusion((i + 1) % n, n, leaves[i], path, root)
        assert not merkle.verify_inclusion(i, n, leaves[i], path[:-1], root)


@given(st.data())
@settings(max_examples=150, deadline=None)
def test_every_consistency_proof_verifies_and_a_rewrite_fails(data: st.DataObject) -> None:
    new = data.draw(st.integers(min_value=1, max_value=200))
    old = data.draw(st.integers(min_value=1, max_value=new))
    leaves = _leaves(new)
    old_root, new_root = merkle.root_of(leaves[:old]), merkle.root_of(leaves)
    proof = merkle.consistency_proof(old, new, merkle.list_source(leaves))
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)
    # the newer tree rewrote one of the old leaves: no proof can tie them together
    j = data.draw(st.integers(min_value=0, max_value=old - 1))
    rewritten = list(leaves)
    rewritten[j] = merkle.leaf_hash(b"rewritten")
    proof2 = merkle.consistency_proof(old, new, merkle.list_source(rewritten))
    assert not merkle.verify_consistency(old, new, old_root, merkle.root_of(rewritten), proof2)
