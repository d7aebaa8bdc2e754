"""Exporting a registry in its import format (CSV or XLSX), so an export imports back unchanged.

Streams the records in key order (``service.iter_records``) so 100,000 people never sit in
memory twice; XLSX is written with openpyxl's write-only workbook for the same reason.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl  # XLSX is how departments exchange registers

from civicloop.registry import service
from civicloop.registry.importer import kind_of, plain
from civicloop.registry.model import COLUMNS, Kind
from civicloop.runtime import Platform


def export_rows(p: Platform, kind: Kind) -> tuple[list[str], Iterator[list[Any]]]:
    """Rows in the import format (an export imports back unchanged)."""
    header = list(COLUMNS[kind])

    def gen() -> Iterator[list[Any]]:
        buildings: dict[str, dict[str, Any]] = {}
        if kind is Kind.ROOM:
            for batch in service.iter_records(p, Kind.BUILDING):
                buildings.update({b["id"]: b for b in batch})
        for batch in service.iter_records(p, kind):
            for r in batch:
                if kind is Kind.PERSON:
                    yield [
                        r["id"],
                        r["id_number"],
                        r["name"],
                        "男" if r["sex"] == "M" else "女",
                        r["birth_date"].isoformat(),
                        r["household"] or "",
                        r["address"],
                        r["room_id"] or "",
                        r["phone"] or "",
                        int(r["is_living_alone"]),
                        int(r["has_disability"]),
                        int(r["is_key_care"]),
                    ]
                elif kind is Kind.ENTITY:
                    yield [
                        r["credit_code"],
                        r["name"],
                        r["legal_representative"] or "",
                        r["industry"] or "",
                        r["registered_address"] or "",
                        r["operating_address"] or "",
                        r["licence_status"],
                    ]
                else:
                    b = buildings[r["building_id"]]
                    yield [
                        r["id"],
                        r["address"],
                        r["use"],
                        plain(r["area_m2"]),
                        r["residents_limit"] or "",
                        b["lon"],
                        b["lat"],
                        r["grid_code"],
                    ]

    return header, gen()


def export_file(p: Platform, kind_name: str, path: Path) -> int:
    """Write the registry ``kind`` to ``path`` (.csv or .xlsx); returns the number of rows."""
    kind = kind_of(kind_name)
    header, rows = export_rows(p, kind)
    n = 0
    if path.suffix.lower() == ".xlsx":
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet(str(kind))
        ws.append(header)
        for row in rows:
            ws.append(row)
            n += 1
        wb.save(path)
        return n
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow(row)
            n += 1
    return n
