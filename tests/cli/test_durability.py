"""Every acknowledged report survives a crash: kill -9 the server, restart, count, verify."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="runs the embedded SQLite default")


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "civicloop.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not start")


def test_acknowledged_reports_survive_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "d"
    setup = subprocess.run(
        [
            sys.executable,
            "-m",
            "civicloop.cli",
            "demo",
            "--data-dir",
            str(data),
            "--no-serve",
            "--grids",
            "200",
            "--communities",
            "60",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert setup.returncode == 0, setup.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/api/v1"
    server = _serve(data, port)
    acknowledged: list[str] = []
    try:
        tok = httpx.post(
            f"{base}/auth/login", json={"username": "citizen", "password": "civicloop-demo-2026"}
        ).json()
        h = {"Authorization": f"Bearer {tok['access_token']}"}
        grid = httpx.get(f"{base}/regions?level=grid", headers=h).json()
        grid_code = grid[0]["code"] if grid else None
        assert grid_code
        for i in range(60):
            r = httpx.post(
                f"{base}/cases",
                headers=h,
                json={
                    "element_code": "E0101",
                    "description": f"第{i}次上报",
                    "grid_code": grid_code,
                },
            )
            assert r.status_code == 201
            acknowledged.append(r.json()["id"])
    finally:
        os.kill(server.pid, signal.SIGKILL)  # no shutdown, no flush: a crash
        server.wait(10)
    server = _serve(data, port)
    try:
        tok = httpx.post(
            f"{base}/auth/login", json={"username": "operator", "password": "civicloop-demo-2026"}
        ).json()
        h = {"Authorization": f"Bearer {tok['access_token']}"}
        found = {c["id"] for c in httpx.get(f"{base}/cases?limit=500", headers=h).json()["items"]}
        assert set(acknowledged) <= found
    finally:
        server.terminate()
        server.wait(10)
    verify = subprocess.run(
        [sys.executable, "-m", "civicloop.cli", "ledger", "verify", "--data-dir", str(data)],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
