"""The command line, run as a user runs it: real subprocesses on a real data directory."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(
    bool(PG_URL), reason="the CLI tests use the embedded SQLite default"
)


def civicloop(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "civicloop.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("demo")
    r = civicloop(
        "demo", "--data-dir", str(d), "--no-serve", "--grids", "300", "--communities", "80"
    )
    assert r.returncode == 0, r.stderr
    assert "operator" in r.stdout and "civicloop-demo-2026" in r.stdout
    return d


def test_ledger_verify_detects_an_edited_row(demo_dir: Path, tmp_path: Path) -> None:
    import shutil

    work = tmp_path / "copy"
    shutil.copytree(demo_dir, work)
    ok = civicloop("ledger", "verify", "--data-dir", str(work))
    assert ok.returncode == 0 and "ledger ok" in ok.stdout, ok.stdout + ok.stderr
    con = sqlite3.connect(work / "civicloop.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE ledger_entries SET actor_id='mallory' WHERE seq=1")
    # a tamperer with file access drops the trigger first; the chain still gives them away
    con.execute("DROP TRIGGER ledger_entries_no_update")
    con.execute("UPDATE ledger_entries SET actor_id='mallory' WHERE seq=1")
    con.commit()
    con.close()
    bad = civicloop("ledger", "verify", "--data-dir", str(work))
    assert bad.returncode == 1
    assert "entry 1" in bad.stdout
    assert "triggers" in bad.stderr


def test_apikey_prints_the_key_on_its_last_line(demo_dir: Path) -> None:
    r = civicloop("apikey", "create", "--name", "open311-gateway", "--data-dir", str(demo_dir))
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip().splitlines()[-1]
    assert key.startswith("clk_") and len(key) > 30
    again = civicloop("apikey", "create", "--name", "open311-gateway", "--data-dir", str(demo_dir))
    assert again.returncode == 2 and "apikey.name_taken" in again.stderr


def test_sweep_runs_and_reports_json(demo_dir: Path) -> None:
    r = civicloop("sweep", "--data-dir", str(demo_dir))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["overdue_steps"] >= 0


def test_catalogue_validate(tmp_path: Path) -> None:
    from civicloop.catalogue import loader

    default = Path(loader.__file__).parent / "data" / "default"
    assert civicloop("catalogue", "validate", str(default)).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: '1'\nelements:\n  - code: Z1\n", encoding="utf-8")
    r = civicloop("catalogue", "validate", str(bad))
    assert r.returncode == 1 and "bad.yaml" in r.stdout


def test_demo_serves_and_healthz(demo_dir: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "civicloop.cli",
            "demo",
            "--data-dir",
            str(demo_dir),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.3)
        assert r.json()["status"] == "ok"
        token = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/login",
            json={"username": "operator", "password": "civicloop-demo-2026"},
        ).json()
        assert (
            httpx.get(
                f"http://127.0.0.1:{port}/api/v1/cases",
                headers={"Authorization": f"Bearer {token['access_token']}"},
            ).status_code
            == 200
        )
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=60).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_every_command_takes_data_dir() -> None:
    for cmd in (
        ["init"],
        ["serve"],
        ["demo"],
        ["sweep"],
        ["ledger", "verify"],
        ["apikey", "create"],
    ):
        r = civicloop(*cmd, "--help")
        assert "--data-dir" in r.stdout, cmd
    for cmd in (["serve"], ["demo"]):
        out = civicloop(*cmd, "--help").stdout
        assert "--host" in out and "--port" in out


def test_commands_refuse_a_data_dir_without_a_platform(tmp_path: Path) -> None:
    r = civicloop("ledger", "verify", "--data-dir", str(tmp_path / "nothing"))
    assert r.returncode == 2 and "no civicloop database" in r.stderr
    assert not (tmp_path / "nothing" / "civicloop.db").exists()


def test_catalogue_validate_against_open_cases(demo_dir: Path, tmp_path: Path) -> None:
    import shutil

    from civicloop.catalogue import loader

    default = Path(loader.__file__).parent / "data" / "default"
    assert (
        civicloop("catalogue", "validate", str(default), "--data-dir", str(demo_dir)).returncode
        == 0
    )
    # open one case of E0101 in a copy, then drop E0101 from a copy of the catalogue
    work = tmp_path / "d"
    shutil.copytree(demo_dir, work)
    code = (
        "from pathlib import Path\n"
        "from civicloop.core.settings import Settings\n"
        "from civicloop.runtime import Platform\n"
        "from civicloop.cases import service\n"
        "from civicloop.org.service import actor_for_user\n"
        f"p = Platform.open(Settings(data_dir=Path({str(work)!r})))\n"
        "a = actor_for_user(p, 'citizen')\n"
        "g = sorted(p.grids.codes)[0]\n"
        "service.report_case(p, a, service.CaseDraft(element_code='E0101', description='x', grid_code=g))\n"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
    cat = tmp_path / "cat"
    shutil.copytree(default, cat)
    for f in cat.glob("*.yaml"):
        text = f.read_text(encoding="utf-8")
        if "code: E0101" in text:
            start = text.index("- code: E0101")
            end = text.index("- code: ", start + 5)
            f.write_text(text[:start] + text[end:], encoding="utf-8")
    r = civicloop("catalogue", "validate", str(cat), "--data-dir", str(work))
    assert r.returncode == 1 and "E0101 is missing but open cases use it" in r.stdout
