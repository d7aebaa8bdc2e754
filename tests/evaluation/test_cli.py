"""`civicloop kpi …` on a real data directory (SQLite: the CLI opens the same file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from civicloop.cli import app
from civicloop.core.settings import Settings
from civicloop.evaluation import report as rep
from tests.evaluation.conftest import Scenario


@pytest.fixture
def sqlite_only(settings: Settings) -> None:
    if not settings.is_sqlite:
        pytest.skip("the CLI reads the data directory's SQLite file")


def test_recompute_check_and_report(
    sqlite_only: None, scenario: Scenario, data_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    got = runner.invoke(app, ["kpi", "recompute", "--check", "--data-dir", str(data_dir)])
    assert got.exit_code == 0, got.output
    assert "identical: yes" in got.output
    out = tmp_path / "r.html"
    got = runner.invoke(
        app, ["kpi", "report", "--month", "2026-11", "--out", str(out), "--data-dir", str(data_dir)]
    )
    assert got.exit_code == 0, got.output
    assert "<svg" in out.read_text(encoding="utf-8")
    if rep.find_font() is not None:
        pdf = tmp_path / "r.pdf"
        got = runner.invoke(
            app,
            ["kpi", "report", "--month", "2026-11", "--out", str(pdf), "--data-dir", str(data_dir)],
        )
        assert got.exit_code == 0 and pdf.read_bytes().startswith(b"%PDF")
    bad = runner.invoke(
        app, ["kpi", "report", "--month", "2026-11", "--out", str(tmp_path / "r.doc"),
              "--data-dir", str(data_dir)],
    )  # fmt: skip
    assert bad.exit_code == 2


def test_commands_refuse_an_empty_directory(tmp_path: Path) -> None:
    got = CliRunner().invoke(app, ["kpi", "consume", "--data-dir", str(tmp_path / "none")])
    assert got.exit_code == 2
