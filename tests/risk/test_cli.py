"""`civicloop risk …` and `civicloop links …` as a user runs them: real subprocesses."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from civicloop.enterprise.demo import demo_credit_code
from civicloop.runtime import Platform
from tests.conftest import PG_URL
from tests.risk.test_data_loop import _close, _walk

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the CLI runs on the embedded SQLite file")


def civicloop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "civicloop.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.mark.slow
def test_update_show_heat_and_a_links_run(
    client: TestClient, platform: Platform, tmp_path: Path
) -> None:
    code = demo_credit_code(random.Random(77))
    _close(platform, _walk(client, platform, text=f"企业{code}夜间施工"))
    d = str(platform.settings.data_dir)
    r = civicloop("risk", "update", "--data-dir", d)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["outcomes"] == 1
    r = civicloop("risk", "show", "enterprise", code, "--data-dir", d)
    assert r.returncode == 0 and json.loads(r.stdout)["score"] == 12.0
    r = civicloop("risk", "heat", "--level", "street", "--data-dir", d)
    assert r.returncode == 0 and any(s["grids_scored"] for s in json.loads(r.stdout))
    bad = civicloop("risk", "show", "comet", "x", "--data-dir", d)
    assert bad.returncode != 0 and "kind" in bad.stdout + bad.stderr

    f = tmp_path / "permits.csv"
    f.write_text(
        "source,record_id,kind,name,address\n"
        "permit,P1,enterprise,上海浦江宏达科技发展有限公司,浦东南路100弄5号楼\n"
        "device,D1,enterprise,浦江宏达科技(上海)有限责任公司,浦东南路一〇〇弄5幢\n",
        encoding="utf-8",
    )
    # the file's two records only (the case naming a credit code is a platform source)
    r = civicloop("links", "run", "--file", str(f), "--no-platform-sources", "--data-dir", d)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["records"] == 2 and out["clusters"] == 1
