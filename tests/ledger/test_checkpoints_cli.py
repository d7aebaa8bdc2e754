"""`civicloop ledger checkpoint | prove | consistency | verify`, run as a user runs them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from civicloop.core.clock import FrozenClock
from civicloop.core.settings import Settings
from civicloop.ledger.service import Action, record
from civicloop.org.model import SYSTEM_ACTOR
from civicloop.runtime import Platform
from tests.conftest import PG_URL, T0

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the CLI runs on the embedded SQLite default")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_inclusion.py"


def civicloop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "civicloop.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "CIVICLOOP_DATA_DIR": ""},
    )


def _append(data: Path, n: int) -> None:
    p = Platform.open(Settings(data_dir=data), clock=FrozenClock(T0))
    with p.db.write() as conn:
        record(
            conn,
            SYSTEM_ACTOR,
            [Action("test.appended", "test", str(i), after={"i": i}) for i in range(n)],
            at=T0,
            request_id="cli",
        )
    p.close()


@pytest.mark.slow
def test_checkpoint_prove_consistency_and_verify(tmp_path: Path) -> None:
    data = tmp_path / "data"
    d = ["--data-dir", str(data)]
    _append(data, 300)
    first = civicloop("ledger", "checkpoint", *d)
    assert first.returncode == 0, first.stderr
    cp1 = json.loads(first.stdout)
    assert cp1["id"] == 1 and cp1["tree_size"] == 300
    key = data / "keys" / "ledger-ed25519.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert "PRIVATE" not in first.stdout + first.stderr
    _append(data, 50)
    cp2 = json.loads(civicloop("ledger", "checkpoint", *d).stdout)
    assert cp2["id"] == 2 and cp2["tree_size"] == 350

    proof = civicloop("ledger", "prove", "123", "--checkpoint", "1", *d)
    assert proof.returncode == 0, proof.stderr
    (tmp_path / "proof.json").write_text(proof.stdout, encoding="utf-8")
    (tmp_path / "cp.json").write_text(json.dumps(cp1), encoding="utf-8")
    check = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "proof.json"), str(tmp_path / "cp.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0 and "IS in checkpoint 1" in check.stdout

    cons = civicloop("ledger", "consistency", "1", "2", *d)
    assert cons.returncode == 0 and json.loads(cons.stdout)["verified"]
    assert civicloop("ledger", "consistency", "2", "1", *d).returncode == 2
    assert civicloop("ledger", "prove", "340", "--checkpoint", "1", *d).returncode == 2

    ok = civicloop("ledger", "verify", *d)
    assert ok.returncode == 0 and "2 checkpoints" in ok.stdout, ok.stdout + ok.stderr

    # a forged root in the checkpoint table: its signature and the recomputation both object
    con = sqlite3.connect(data / "civicloop.db")
    con.execute("UPDATE ledger_checkpoints SET root_hash = ? WHERE id = 1", ("00" * 32,))
    con.commit()
    con.close()
    bad = civicloop("ledger", "verify", *d)
    assert bad.returncode == 1
    assert "checkpoint 1: root does not match" in bad.stdout and "bad signature" in bad.stdout
