"""Importing registries: all or nothing, every problem by row and column, history, export."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from civicloop.core.errors import InputError
from civicloop.ledger import service as ledger
from civicloop.registry import service, store
from civicloop.registry.export import export_file
from civicloop.registry.importer import import_file
from civicloop.runtime import Platform

from .conftest import SIZES


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_generated_registry_imports_with_addresses_matched(loaded: Platform) -> None:
    counts = service.count_records(loaded)
    assert counts["room"] == SIZES["rooms"]
    assert counts["person"] == SIZES["people"]
    assert counts["entity"] == SIZES["entities"]
    with loaded.db.read() as conn:
        unmatched = conn.execute(
            select(func.count()).where(store.people.c.room_id.is_(None))
        ).scalar_one()
    assert unmatched == 0  # every address variant found its room
    entries = [e for e in ledger.timeline(loaded.db, "registry", "person")]
    assert entries[-1].action == "registry.imported"
    assert entries[-1].after["new"] == SIZES["people"]


def test_bad_rows_are_all_reported_and_nothing_is_imported(
    gazetteer: Platform, dataset: Path, tmp_path: Path
) -> None:
    import_file(gazetteer, "rooms", dataset / "rooms.csv")
    rows = _rows(dataset / "people.csv")
    rows[3][1] = rows[3][1][:17] + ("0" if rows[3][1][17] != "0" else "1")  # checksum
    rows[5][4] = "1990-02-30"  # not a date
    rows[7][6] = "不存在路999弄9号101室"  # unknown address
    rows[9][1], rows[9][3], rows[9][4] = rows[2][1], rows[2][3], rows[2][4]  # duplicate
    rows[11][2] = ""  # missing name
    bad = _write(tmp_path / "bad.csv", rows)

    report = import_file(gazetteer, "people", bad, dry_run=True)
    found = {(p.row, p.column, p.rule) for p in report.problems}
    assert found == {
        (4, "id_number", "GB11643.check_digit"),
        (6, "birth_date", "date.format"),
        (8, "address", "address.unknown"),
        (10, "id_number", "duplicate"),
        (12, "name", "required"),
    }
    with pytest.raises(InputError) as err:
        import_file(gazetteer, "people", bad)
    assert len(err.value.data["problems"]) == 5
    assert "row 4, column id_number" in err.value.data["problems"][0]
    assert service.count_records(gazetteer)["person"] == 0


def test_missing_required_column_is_reported_on_the_header(
    gazetteer: Platform, tmp_path: Path
) -> None:
    f = _write(tmp_path / "p.csv", [["name", "address"], ["王伟", "张杨路1号"]])
    report = import_file(gazetteer, "people", f, dry_run=True)
    assert [(p.row, p.column, p.rule) for p in report.problems] == [
        (1, "id_number", "column.required")
    ]


def test_reimport_records_changes_in_history(
    loaded: Platform, dataset: Path, tmp_path: Path
) -> None:
    rows = _rows(dataset / "people.csv")
    rows[1][8] = "13900000000"
    changed = _write(tmp_path / "people2.csv", rows)
    report = import_file(loaded, "people", changed)
    assert (report.new, report.changed, report.unchanged) == (0, 1, SIZES["people"] - 1)
    history = service.history_of(loaded, "person", rows[1][0])
    assert history[-1]["change"] == "updated"
    assert history[-1]["after"] == {"phone": "13900000000"}
    assert service.get_person(loaded, rows[1][0])["phone"] == "13900000000"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_imports_back_unchanged(loaded: Platform, tmp_path: Path, suffix: str) -> None:
    for kind in ("rooms", "people", "entities"):
        out = tmp_path / f"{kind}{suffix}"
        assert export_file(loaded, kind, out) > 0
        report = import_file(loaded, kind, out, dry_run=True)
        assert report.problems == []
        assert report.new == 0 and report.changed == 0


def test_elders_living_alone_and_batches(loaded: Platform) -> None:
    elders = service.elders_living_alone(loaded)
    assert elders
    assert all(e["age"] >= 60 and e["room_id"] and e["grid_code"] for e in elders)
    assert all("*" in e["name"] for e in elders)
    batches = list(service.iter_records(loaded, "person", batch=250))
    assert [len(b) for b in batches] == [250, 250, 100]
    room = service.get_room(loaded, elders[0]["room_id"])
    assert room["registered_residents"] == 1
