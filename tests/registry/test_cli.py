"""`civicloop registry …`: generate, import (dry run and refusal), export, match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from civicloop.registry import service
from civicloop.registry.cli import app
from civicloop.runtime import Platform


def _env(p: Platform) -> dict[str, str]:
    return {"CIVICLOOP_DATABASE_URL": p.settings.database_url} if p.settings.database_url else {}


def test_generate_import_export_and_match(gazetteer: Platform, tmp_path: Path) -> None:
    runner = CliRunner()
    d = ["--data-dir", str(gazetteer.settings.data_dir)]
    env = _env(gazetteer)
    out = tmp_path / "reg"
    args = ["generate", "--out", str(out), "--people", "200", "--entities", "40", "--rooms", "100"]
    r = runner.invoke(app, [*args, "--bad-rows", "5", *d], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.strip().splitlines()[-1]) == {
        "rooms": 100,
        "people": 200,
        "entities": 40,
    }
    r = runner.invoke(app, ["import", "rooms", str(out / "rooms.csv"), "--dry-run", *d], env=env)
    assert r.exit_code == 2
    assert r.output.count("row ") >= 5 and "column area_m2" in r.output
    r = runner.invoke(app, ["import", "rooms", str(out / "rooms.csv"), *d], env=env)
    assert r.exit_code == 2
    assert service.count_records(gazetteer)["room"] == 0  # nothing from a file with faults

    clean = tmp_path / "clean"
    runner.invoke(app, [*args[:2], str(clean), *args[3:], *d], env=env)
    for kind in ("rooms", "people", "entities"):
        r = runner.invoke(app, ["import", kind, str(clean / f"{kind}.csv"), *d], env=env)
        assert r.exit_code == 0, r.output
        summary = json.loads(r.output.strip().splitlines()[-1])
        assert summary["applied"] is True and summary["problems"] == 0
    assert service.count_records(gazetteer)["person"] == 200
    xlsx = tmp_path / "people.xlsx"
    r = runner.invoke(app, ["export", "people", str(xlsx), *d], env=env)
    assert r.exit_code == 0 and "200 rows" in r.output
    first_room = next(service.iter_records(gazetteer, "room", batch=1))[0]
    r = runner.invoke(app, ["match", first_room["address"], *d], env=env)
    assert r.exit_code == 0
    assert json.loads(r.output)["match"]["room_id"] == first_room["id"]


@pytest.mark.slow
def test_import_at_a_tenth_of_district_scale(gazetteer: Platform, tmp_path: Path) -> None:
    """The benchmark's path at 10,000 people / 2,000 entities / 5,000 rooms (no timing)."""
    from civicloop.registry.generate import write_dataset
    from civicloop.registry.importer import import_file

    write_dataset(gazetteer, tmp_path, people=10_000, entities=2_000, rooms=5_000, seed=11)
    for kind in ("rooms", "people", "entities"):
        report = import_file(gazetteer, kind, tmp_path / f"{kind}.csv")
        assert report.applied and not report.problems
    counts = service.count_records(gazetteer)
    assert (counts["room"], counts["person"], counts["entity"]) == (5_000, 10_000, 2_000)
