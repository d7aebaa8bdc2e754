"""Signed checkpoints and proofs over the stored ledger, through the service, the API and an
independent verifier script (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import random
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from civicloop.core.clock import FrozenClock
from civicloop.ledger import checkpoints as cps
from civicloop.ledger import merkle
from civicloop.ledger import store as lstore
from civicloop.ledger.service import Action, record
from civicloop.ledger.signing import verify_signature
from civicloop.org.model import SYSTEM_ACTOR
from civicloop.runtime import Platform
from tests.conftest import PG_URL
from tests.helpers import login

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_inclusion.py"


def _append(p: Platform, n: int, tag: str = "x") -> None:
    with p.db.write() as conn:
        record(
            conn,
            SYSTEM_ACTOR,
            [Action("test.appended", "test", f"{tag}{i}", after={"i": i}) for i in range(n)],
            at=p.clock.now(),
            request_id="test",
        )


def _all_leaves(p: Platform) -> list[bytes]:
    with p.db.read() as conn:
        return [merkle.entry_leaf(h) for h in lstore.chain_hashes(conn, 1, 10**9)]


def test_a_checkpoint_signs_the_rfc6962_root_of_the_whole_ledger(
    platform: Platform, clock: FrozenClock, data_dir: Path
) -> None:
    _append(platform, 5)
    cp = cps.create_checkpoint(platform)
    assert cp is not None
    leaves = _all_leaves(platform)
    assert cp.tree_size == len(leaves) and cp.id == 1
    assert cp.root_hash == merkle.root_of(leaves).hex()
    assert verify_signature(cp.public_key, cp.signature, cp.message())
    forged = cp.message().replace(
        f"\n{cp.tree_size}\n".encode(), f"\n{cp.tree_size + 1}\n".encode()
    )
    assert forged != cp.message()
    assert not verify_signature(cp.public_key, cp.signature, forged)
    key = data_dir / "keys" / "ledger-ed25519.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # nothing appended since: the same checkpoint comes back
    clock.advance(timedelta(hours=1))
    again = cps.create_checkpoint(platform)
    assert again is not None and again.id == 1
    _append(platform, 3)
    third = cps.create_checkpoint(platform)
    assert third is not None and third.id == 2 and third.tree_size == cp.tree_size + 3


def test_proofs_for_every_checkpoint_and_entry_verify_across_stored_nodes(
    platform: Platform,
) -> None:
    """Enough entries that stored level nodes (≥ 256 leaves) take part in roots and proofs."""
    sizes = []
    for batch in (300, 1, 700, 255, 1100):
        _append(platform, batch)
        cp = cps.create_checkpoint(platform)
        assert cp is not None
        sizes.append(cp)
    leaves = _all_leaves(platform)
    with platform.db.read() as conn:
        assert lstore.node_count(conn, lstore.NODE_MIN_LEVEL) == len(leaves) // 256
    rng = random.Random(6)
    for cp in sizes:
        assert cp.root_hash == merkle.root_of(leaves[: cp.tree_size]).hex()
        for seq in {1, cp.tree_size, *(rng.randint(1, cp.tree_size) for _ in range(15))}:
            proof = cps.prove_inclusion(platform.db, seq, cp.id)
            assert proof["verified"], (seq, cp.id)
            path = [bytes.fromhex(h) for h in proof["audit_path"]]
            assert merkle.verify_inclusion(
                seq - 1, cp.tree_size, leaves[seq - 1], path, bytes.fromhex(cp.root_hash)
            )
    for a in sizes:
        for b in sizes:
            if a.tree_size <= b.tree_size:
                assert cps.prove_consistency(platform.db, a.id, b.id)["verified"]
    report = cps.verify_checkpoints(platform.db, sizes[0].public_key)
    assert report.checkpoints == len(sizes) and not report.problems and not report.foreign_keys


def test_proof_errors_are_clear(platform: Platform) -> None:
    import pytest

    from civicloop.core.errors import InputError, NotFoundError

    with pytest.raises(NotFoundError):
        cps.read_checkpoint(platform.db, None)
    _append(platform, 2)
    cp = cps.create_checkpoint(platform)
    assert cp is not None
    _append(platform, 2)
    with pytest.raises(InputError) as err:
        cps.prove_inclusion(platform.db, cp.tree_size + 1, cp.id)
    assert err.value.field == "checkpoint"
    with pytest.raises(NotFoundError):
        cps.prove_inclusion(platform.db, 10**8, cp.id)
    with pytest.raises(NotFoundError):
        cps.prove_consistency(platform.db, cp.id, 99)
    second = cps.create_checkpoint(platform)
    assert second is not None
    with pytest.raises(InputError):
        cps.prove_consistency(platform.db, second.id, cp.id)


def _run_script(tmp_path: Path, proof: dict, checkpoint: dict) -> subprocess.CompletedProcess[str]:
    (tmp_path / "proof.json").write_text(json.dumps(proof, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "cp.json").write_text(json.dumps(checkpoint), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "proof.json"), str(tmp_path / "cp.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_independent_script_verifies_a_proof_and_rejects_a_modified_entry(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    _append(platform, 40)
    admin = login(client, "admin")
    r = client.post("/api/v1/ledger/checkpoints", headers=admin)
    assert r.status_code == 200, r.text
    # the published checkpoint and key need no login
    cp = client.get("/api/v1/ledger/checkpoints/latest").json()
    assert client.get(f"/api/v1/ledger/checkpoints/{cp['id']}").json() == cp
    key = client.get("/api/v1/ledger/public-key").json()
    assert key["public_key"] == cp["public_key"] and "PRIVATE" not in json.dumps(key)
    assert client.get("/api/v1/ledger/checkpoints").json()[0]["id"] == cp["id"]
    # the proof needs a login; an auditor gets the entry's content with it
    seq = cp["tree_size"] - 7
    assert client.get(f"/api/v1/ledger/entries/{seq}/proof").status_code == 401
    proof = client.get(
        f"/api/v1/ledger/entries/{seq}/proof?checkpoint={cp['id']}",
        headers=login(client, "auditor"),
    ).json()
    assert proof["verified"] and proof["entry"]["seq"] == seq

    ok = _run_script(tmp_path, proof, cp)
    assert ok.returncode == 0 and "IS in checkpoint" in ok.stdout, ok.stdout + ok.stderr

    forged = json.loads(json.dumps(proof))
    forged["entry"]["after"] = {"i": 999}
    bad = _run_script(tmp_path, forged, cp)
    assert bad.returncode == 1 and "is NOT" in bad.stdout

    other_root = {**cp, "root_hash": "00" * 32}
    assert _run_script(tmp_path, proof, other_root).returncode == 1

    # a citizen gets the hash-only proof (content comes from the timeline they may read)
    citizen = client.get(f"/api/v1/ledger/entries/{seq}/proof", headers=login(client, "citizen"))
    assert citizen.status_code == 200 and citizen.json()["entry"] is None
    assert _run_script(tmp_path, citizen.json(), cp).returncode == 0


def test_api_errors_are_problems_not_500s(platform: Platform, client: TestClient) -> None:
    assert client.get("/api/v1/ledger/checkpoints/latest").status_code == 404
    _append(platform, 3)
    cps.create_checkpoint(platform)
    h = login(client, "auditor")
    for url, status in [
        ("/api/v1/ledger/entries/0/proof", 422),
        (f"/api/v1/ledger/entries/{2**64}/proof", 422),  # beyond a 64-bit id: bad input, no 500
        (f"/api/v1/ledger/consistency?first=1&second={2**70}", 422),
        ("/api/v1/ledger/entries/abc/proof", 422),
        ("/api/v1/ledger/entries/999999/proof", 404),
        ("/api/v1/ledger/checkpoints/77", 404),
        ("/api/v1/ledger/consistency?first=1&second=5", 404),
        ("/api/v1/ledger/consistency?first=1", 422),
    ]:
        r = client.get(url, headers=h)
        assert r.status_code == status, (url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (
        client.post("/api/v1/ledger/checkpoints", headers=login(client, "citizen")).status_code
        == 403
    )
    ok = client.get("/api/v1/ledger/consistency?first=1&second=1").json()
    assert ok["verified"] and ok["proof"] == []


def test_a_rewritten_entry_breaks_the_checkpoint_and_its_proof(platform: Platform) -> None:
    """Someone with file access drops the append-only trigger and rewrites an entry."""
    _append(platform, 600)
    cp = cps.create_checkpoint(platform)
    assert cp is not None
    victim = cp.tree_size - 300
    with platform.db.write() as conn:
        if PG_URL:
            conn.exec_driver_sql("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER ledger_entries_no_update")
        conn.exec_driver_sql(f"UPDATE ledger_entries SET hash = '{'ab' * 32}' WHERE seq = {victim}")
    report = cps.verify_checkpoints(platform.db)
    assert report.problems and "root does not match" in report.problems[0]
    assert not cps.prove_inclusion(platform.db, victim, cp.id)["verified"]
