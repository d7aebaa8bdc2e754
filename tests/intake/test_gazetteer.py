"""The demo gazetteer and the CSV import (dry run by default, all or nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from civicloop.core.errors import ConflictError, InputError
from civicloop.core.settings import Settings
from civicloop.intake.cli import app as intake_app
from civicloop.intake.gazetteer import count_entries, import_csv, list_entries, seed_gazetteer
from civicloop.intake.geocoder import geocode
from civicloop.ledger import store as ledger_store
from civicloop.runtime import Platform
from tests.conftest import PG_URL


def _ledger_actions(p: Platform) -> list[str]:
    with p.db.read() as conn:
        return [r.action for r in conn.execute(select(ledger_store.ledger_entries.c.action))]


def test_generated_gazetteer_is_placed_in_the_district(gazetteer_platform: Platform) -> None:
    p = gazetteer_platform
    entries = list_entries(p)
    kinds = count_entries(p)
    assert kinds["road"] >= 20 and kinds["compound"] >= 30
    for kind in ("school", "hospital", "metro_station", "market", "park"):
        assert kinds[kind] >= 1, kind
    names = {e["name"] for e in entries}
    assert {"世纪大道", "张杨路", "浦东南路", "锦绣路", "金桥新村", "世纪公园"} <= names
    for e in entries:
        assert e["grid_code"] is not None, e["name"]
        assert e["street_code"] == e["grid_code"][:9]
        assert p.grids.locate(e["lon"], e["lat"]) is not None, e["name"]
        if e["kind"] == "road":
            assert len(e["line"]) >= 2 and e["number_max"] >= 1
    assert "gazetteer.generated" in _ledger_actions(p)


def test_same_seed_same_gazetteer_and_regenerating_replaces(platform: Platform) -> None:
    n = seed_gazetteer(platform, seed=5)
    first = [(e["name"], e["lon"], e["lat"], e["kind"]) for e in list_entries(platform)]
    assert seed_gazetteer(platform, seed=5) == n
    again = [(e["name"], e["lon"], e["lat"], e["kind"]) for e in list_entries(platform)]
    assert sorted(again) == sorted(first)
    assert len(again) == n


def test_generate_needs_a_district(tmp_path: Path) -> None:
    if PG_URL:
        pytest.skip("needs an empty database")
    p = Platform.open(Settings(data_dir=tmp_path))
    try:
        with pytest.raises(ConflictError):
            seed_gazetteer(p, seed=1)
    finally:
        p.close()


BAD_CSV = """name,kind,lon,lat,aliases,line,number_max
滨江新苑,compound,121.52,31.23,滨江苑|新苑小区,,
,park,121.52,31.23,,,
花店,shop,abc,31.23,,,
远方学校,school,120.0,30.0,,,
滨江新苑,compound,121.52,31.23,,,
新修路,road,121.52,31.23,,121.52 31.23;121.53,10
"""


def test_dry_run_reports_every_bad_row_and_column_and_writes_nothing(
    gazetteer_platform: Platform,
) -> None:
    p = gazetteer_platform
    before = list_entries(p)
    report = import_csv(p, BAD_CSV)
    assert set(report.problems) >= {
        (3, "name", "must not be empty"),
        (4, "lon", "'abc' is not a number"),
        (5, "lon", "the point is outside the district's grids"),
        (6, "name", "appears twice (also row 2)"),
    }
    assert any(r == 4 and c == "kind" for r, c, _ in report.problems)
    assert any(r == 7 and c == "line" for r, c, _ in report.problems)
    with pytest.raises(InputError) as err:
        import_csv(p, BAD_CSV, apply=True)
    assert len(err.value.data["problems"]) == len(report.problems)
    assert list_entries(p) == before
    assert "gazetteer.imported" not in _ledger_actions(p)


def test_missing_columns_are_named(gazetteer_platform: Platform) -> None:
    report = import_csv(gazetteer_platform, "name,kind\n小区,compound\n")
    assert report.problems == [
        (1, "lon", "required column is missing"),
        (1, "lat", "required column is missing"),
    ]


def test_apply_writes_and_the_geocoder_sees_it_at_once(gazetteer_platform: Platform) -> None:
    p = gazetteer_platform
    assert geocode(p, "滨江新苑5号楼漏水") is None  # loads the cache before the import
    csv_text = (
        "name,kind,lon,lat,aliases,line,number_max\n"
        "滨江新苑,compound,121.520,31.230,滨江苑,,\n"
        "新修路,road,121.520,31.230,,121.515 31.230;121.525 31.230,100\n"
        "东方医院,hospital,121.523,31.232,,,\n"  # replaces the generated entry
    )
    dry = import_csv(p, csv_text)
    assert dry.is_clean and dry.replaced == ["东方医院"]
    assert "滨江新苑" not in {e["name"] for e in list_entries(p)}
    import_csv(p, csv_text, apply=True)
    entries = {e["name"]: e for e in list_entries(p)}
    assert entries["滨江新苑"]["source"] == "import"
    assert (entries["东方医院"]["lon"], entries["东方医院"]["lat"]) == (121.523, 31.232)
    m = geocode(p, "滨江苑5号楼漏水")
    assert m is not None and m.precision == "compound" and m.entry_id == entries["滨江新苑"]["id"]
    road = geocode(p, "新修路51号")
    assert road is not None and road.lon == pytest.approx(121.52, abs=1e-4)
    assert "gazetteer.imported" in _ledger_actions(p)


def _env(p: Platform) -> dict[str, str]:
    return {"CIVICLOOP_DATABASE_URL": p.settings.database_url} if p.settings.database_url else {}


def test_cli_generate_and_import(platform: Platform, tmp_path: Path) -> None:
    runner = CliRunner()
    d = str(platform.settings.data_dir)
    r = runner.invoke(
        intake_app, ["gazetteer", "generate", "--data-dir", d, "--seed", "3"], env=_env(platform)
    )
    assert r.exit_code == 0, r.output
    assert "entries generated" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    r = runner.invoke(
        intake_app,
        ["gazetteer", "import", str(bad), "--data-dir", d, "--apply"],
        env=_env(platform),
    )
    assert r.exit_code == 1
    assert "row 4, column lon" in r.output and "nothing written" in r.output
    good = tmp_path / "good.csv"
    good.write_text("name,kind,lon,lat\n滨江新苑,compound,121.52,31.23\n", encoding="utf-8")
    r = runner.invoke(
        intake_app, ["gazetteer", "import", str(good), "--data-dir", d], env=_env(platform)
    )
    assert r.exit_code == 0 and "dry run" in r.output
    assert "滨江新苑" not in {e["name"] for e in list_entries(platform)}
    r = runner.invoke(
        intake_app,
        ["gazetteer", "import", str(good), "--data-dir", d, "--apply"],
        env=_env(platform),
    )
    assert r.exit_code == 0 and "1 rows imported" in r.output
    assert "滨江新苑" in {e["name"] for e in list_entries(platform)}
    r = runner.invoke(intake_app, ["geocode", "滨江新苑3号楼", "--data-dir", d], env=_env(platform))
    assert r.exit_code == 0 and '"precision": "compound"' in r.output
