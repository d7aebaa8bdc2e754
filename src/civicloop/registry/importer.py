"""Importing and exporting registry files (CSV and XLSX): all or nothing, every problem named.

An import reads the whole file, checks every row (the pure rules of ``model.check_*`` plus what
needs the registry: duplicate keys within the file, addresses that match no registered building
or room, an ID number already held by another record) and only then, when nothing is wrong and
it is not a dry run, writes it in ONE transaction: new records in ``executemany`` batches,
changed records updated with a before/after row in ``registry_history`` each, unchanged records
left alone, and one ledger entry summarising the import (not one per row). A file with a single
bad row writes nothing.

Rooms come first: a room row's address creates (or finds) its building; people and entities
are then matched to rooms and buildings by address. Row numbers count the header as row 1, as
a spreadsheet shows them.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl  # XLSX is how departments exchange registers; openpyxl reads and writes it
from sqlalchemy import Connection, Table, bindparam, insert, select, update

from civicloop.core.errors import InputError
from civicloop.core.ids import new_uuid
from civicloop.ledger.service import Action, record
from civicloop.org.model import SYSTEM_ACTOR, Actor
from civicloop.registry import address as addr
from civicloop.registry import service, store
from civicloop.registry.model import (
    CHECKS,
    COLUMNS,
    HEADER_ALIASES,
    KIND_OF_FILE,
    REQUIRED,
    Kind,
    Problem,
)
from civicloop.runtime import Platform

Progress = Callable[[str, int, int], None]
MAX_PROBLEMS_SHOWN = 20
BATCH = 5000


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    buildings_new: int = 0
    applied: bool = False
    import_id: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    # what would be written
    inserts: list[dict[str, Any]] = field(default_factory=list, repr=False)
    updates: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list, repr=False)
    new_buildings: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def is_clean(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "buildings_new": self.buildings_new,
            "problems": len(self.problems),
            "applied": self.applied,
            "import_id": self.import_id,
        }


def kind_of(name: str) -> Kind:
    if name in KIND_OF_FILE:
        return KIND_OF_FILE[name]
    try:
        return Kind(name)
    except ValueError:
        raise InputError(
            f"unknown registry {name!r}", field="kind", rule="one of people, entities, rooms"
        ) from None


# ---------------------------------------------------------------- reading files


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def read_rows(path: Path) -> tuple[list[str], Iterator[list[str]]]:
    """(header, rows as lists of text) of a CSV (UTF-8, with or without BOM) or XLSX file."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        it = wb.active.iter_rows(values_only=True)
        first = next(it, None) or ()
        header = [_cell(h) for h in first]

        def gen() -> Iterator[list[str]]:
            try:
                for row in it:
                    yield [_cell(v) for v in row]
            finally:
                wb.close()

        return header, gen()
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    return header, reader


def _canon_header(header: list[str]) -> list[str]:
    return [HEADER_ALIASES.get(h, h).strip().lower() for h in header]


# ---------------------------------------------------------------- checking


def check_file(
    p: Platform,
    kind: Kind,
    header: list[str],
    rows: Iterable[list[str]],
    progress: Progress | None = None,
) -> ImportReport:
    report = ImportReport(kind=str(kind))
    cols = _canon_header(header)
    missing = [c for c in REQUIRED[kind] if c not in cols]
    for c in missing:
        report.problems.append(
            Problem(1, c, "column.required", "缺少必填列 / required column is missing")
        )
    unknown = [h for h, c in zip(header, cols, strict=True) if c and c not in COLUMNS[kind]]
    for h in unknown:
        report.problems.append(Problem(1, h, "column.unknown", "无法识别的列 / unknown column"))
    if missing:
        return report
    with p.db.read() as conn:
        idx = service.load_index(conn)
        existing = _existing(conn, kind)
    checker = CHECKS[kind]
    ctx = _Context(p, kind, idx, existing, report)
    for n, cells in enumerate(rows, start=2):
        if not any(c.strip() for c in cells):
            continue
        report.rows += 1
        row = {c: (cells[i] if i < len(cells) else "") for i, c in enumerate(cols) if c}
        res = checker(row)
        problems = [(col, rule, msg) for col, rule, msg in res.problems]
        for col in REQUIRED[kind]:
            if not row.get(col, "").strip() and not any(pc == col for pc, _, _ in problems):
                problems.append((col, "required", "必填 / required"))
        values = res.values
        if not problems:
            ctx.resolve(n, values, problems)
        for col, rule, msg in problems:
            report.problems.append(Problem(n, col, rule, msg))
        if not problems:
            ctx.stage(values)
        if progress and report.rows % 5000 == 0:
            progress("check", report.rows, 0)
    return report


def _existing(conn: Any, kind: Kind) -> dict[str, dict[str, Any]]:
    t, key = service.table_of(kind), service.key_column(kind)
    return {r._mapping[key.name]: dict(r._mapping) for r in conn.execute(select(t))}


_COMPARED = {
    Kind.PERSON: (
        "id_number",
        "name",
        "sex",
        "birth_date",
        "household",
        "address",
        "room_id",
        "grid_code",
        "phone",
        "is_living_alone",
        "has_disability",
        "is_key_care",
    ),
    Kind.ENTITY: (
        "name",
        "legal_representative",
        "industry",
        "registered_address",
        "operating_address",
        "building_id",
        "grid_code",
        "licence_status",
    ),
    Kind.ROOM: (
        "building_id",
        "unit",
        "room",
        "address",
        "use",
        "area_m2",
        "residents_limit",
        "grid_code",
    ),
}


class _Context:
    """What checking needs beyond one row: the registry, and the keys seen so far in the file."""

    def __init__(
        self,
        p: Platform,
        kind: Kind,
        idx: service.AddressIndex,
        existing: dict[str, dict[str, Any]],
        report: ImportReport,
    ) -> None:
        self.p, self.kind, self.idx, self.existing, self.report = p, kind, idx, existing, report
        self.seen: dict[str, int] = {}
        self.seen_second: dict[Any, int] = {}
        self.id_numbers = (
            {r["id_number"]: k for k, r in existing.items()} if kind is Kind.PERSON else {}
        )
        self.new_keys: dict[str, dict[str, Any]] = {}  # building key → staged new building
        self.now = p.clock.now()
        self.key_name = service.key_column(kind).name

    def _dup(
        self, n: int, key: Any, col: str, problems: list[tuple[str, str, str]], seen: dict[Any, int]
    ) -> None:
        if key in seen:
            problems.append(
                (col, "duplicate", f"与第{seen[key]}行重复 / duplicate of row {seen[key]}")
            )
        else:
            seen[key] = n

    def resolve(self, n: int, v: dict[str, Any], problems: list[tuple[str, str, str]]) -> None:
        if self.kind is Kind.PERSON:
            self._person(n, v, problems)
        elif self.kind is Kind.ENTITY:
            self._entity(n, v, problems)
        else:
            self._room(n, v, problems)

    def _person(self, n: int, v: dict[str, Any], problems: list[tuple[str, str, str]]) -> None:
        if v["id"] is None:
            v["id"] = "P" + hashlib.sha256(v["id_number"].encode()).hexdigest()[:15].upper()
        self._dup(n, v["id_number"], "id_number", problems, self.seen_second)
        self._dup(n, v["id"], "person_id", problems, self.seen)
        holder = self.id_numbers.get(v["id_number"])
        if holder is not None and holder != v["id"]:
            problems.append(
                (
                    "id_number",
                    "id_number.taken",
                    f"身份证号已属于另一记录 {holder} / held by another record",
                )
            )
        room_id = v["room_id"]
        if room_id:
            if room_id not in self.idx.room_ids:
                problems.append(("room_id", "room.unknown", "房屋编号不存在 / no such room"))
        else:
            _, room_id = self.idx.room_for(addr.parse(v["address"]))
            if room_id is None:
                problems.append(
                    (
                        "address",
                        "address.unknown",
                        "地址未匹配到登记房屋 / matches no registered room",
                    )
                )
        v["room_id"] = room_id
        v["grid_code"] = self._room_grid(room_id)

    def _room_grid(self, room_id: str | None) -> str | None:
        if room_id is None:
            return None
        cached = getattr(self, "_room_grids", None)
        if cached is None:
            with self.p.db.read() as conn:
                rc = store.rooms.c
                cached = {r: g for r, g in conn.execute(select(rc.id, rc.grid_code))}
            self._room_grids = cached
        return cached.get(room_id)

    def _entity(self, n: int, v: dict[str, Any], problems: list[tuple[str, str, str]]) -> None:
        self._dup(n, v["credit_code"], "credit_code", problems, self.seen)
        v["building_id"], v["grid_code"] = None, None
        if v["operating_address"]:
            b = self.idx.building_for(addr.parse(v["operating_address"]))
            if b is None:
                problems.append(
                    (
                        "operating_address",
                        "address.unknown",
                        "经营地址未匹配到登记建筑 / matches no registered building",
                    )
                )
            else:
                v["building_id"], v["grid_code"] = b["id"], b["grid_code"]

    def _room(self, n: int, v: dict[str, Any], problems: list[tuple[str, str, str]]) -> None:
        self._dup(n, v["id"], "room_id", problems, self.seen)
        parts = addr.parse(v["address"])
        keys = [k for k in addr.building_keys(parts) if not k.startswith("S|")]
        if not keys:
            problems.append(
                (
                    "address",
                    "address.unreadable",
                    "地址缺少道路门牌或小区楼号 / no road+number or compound+building",
                )
            )
            return
        b = self.idx.building_for(parts) or next(
            (self.new_keys[k] for k in keys if k in self.new_keys), None
        )
        if b is None:
            b = self._new_building(parts, v, problems)
            if b is None:
                return
        v["building_id"], v["grid_code"] = b["id"], b["grid_code"]
        v["unit"], v["room"] = parts.unit, parts.room
        self._dup(n, (b["id"], parts.unit, parts.room), "address", problems, self.seen_second)
        v["address"] = addr.format_address(parts)

    def _new_building(
        self, parts: addr.AddressParts, v: dict[str, Any], problems: list[tuple[str, str, str]]
    ) -> dict[str, Any] | None:
        lon, lat, grid = v.get("lon"), v.get("lat"), v.get("grid_code")
        if lon is not None and lat is not None:
            located = self.p.grids.locate(lon, lat)
            if located is None:
                problems.append(
                    ("lon", "lonlat.outside", "坐标不在本区网格内 / outside the district's grids")
                )
                return None
            grid = located
        elif grid:
            if self.p.grid_path(grid) is None:
                problems.append(("grid_code", "grid.unknown", "网格编码不存在 / no such grid"))
                return None
            c = self.p.grids.geometry(grid).representative_point()
            lon, lat = c.x, c.y
        else:
            from civicloop.intake.geocoder import geocode  # jieba: loaded only when needed

            hit = geocode(self.p, v["address"])
            if hit is None or hit.precision not in {"point", "compound"}:
                problems.append(
                    (
                        "address",
                        "address.unknown",
                        "地址无法定位，请给出经纬度或网格 / give lon/lat or grid_code",
                    )
                )
                return None
            lon, lat, grid = hit.lon, hit.lat, hit.grid_code
        keys = addr.building_keys(parts)
        bparts = addr.AddressParts(
            road=parts.road,
            lane=parts.lane,
            sublane=parts.sublane,
            number=parts.number,
            compound=parts.compound,
            building=parts.building,
        )
        b = {
            "id": "B" + hashlib.sha256(keys[0].encode()).hexdigest()[:15].upper(),
            "postal_key": next((k for k in keys if k.startswith("R|")), None),
            "stem_key": next((k for k in keys if k.startswith("S|")), None),
            "compound_key": next((k for k in keys if k.startswith("C|")), None),
            "address": addr.format_address(bparts),
            "road": parts.road,
            "lane": parts.lane,
            "number": parts.number,
            "compound": parts.compound,
            "building": parts.building,
            "grid_code": grid,
            "lon": round(float(lon), 6),
            "lat": round(float(lat), 6),
            "updated_at": self.now,
        }
        for k in keys:
            self.new_keys[k] = b
        self.report.new_buildings.append(b)
        return b

    def stage(self, v: dict[str, Any]) -> None:
        kind = self.kind
        key = v["credit_code"] if kind is Kind.ENTITY else v["id"]
        row = {c: v.get(c) for c in _COMPARED[kind]}
        row[self.key_name] = key
        old = self.existing.get(key)
        if old is None:
            self.report.inserts.append({**row, "updated_at": self.now})
            self.report.new += 1
            return
        diff = {c: row[c] for c in _COMPARED[kind] if plain(old.get(c)) != plain(row[c])}
        if not diff:
            self.report.unchanged += 1
            return
        before = {c: plain(old.get(c)) for c in diff}
        self.report.updates.append(
            (
                {"_key": key, **row, "updated_at": self.now},
                {"before": before, "after": {c: plain(x) for c, x in diff.items()}},
            )
        )
        self.report.changed += 1


def plain(v: Any) -> Any:
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


# ---------------------------------------------------------------- applying


def import_file(
    p: Platform,
    kind_name: str,
    path: Path,
    *,
    dry_run: bool = False,
    actor: Actor = SYSTEM_ACTOR,
    progress: Progress | None = None,
    request_id: str = "import",
) -> ImportReport:
    """Check ``path`` and, unless ``dry_run``, write it all in one transaction.

    Raises InputError listing every problem (by row and column) when the file has any and
    ``dry_run`` is false; nothing is written then.
    """
    import time

    kind = kind_of(kind_name)
    if not path.exists():
        raise InputError(f"no such file: {path}", field="file", rule="exists")
    t0 = time.perf_counter()
    header, rows = read_rows(path)
    report = check_file(p, kind, header, rows, progress)
    report.buildings_new = len(report.new_buildings)
    report.timings_ms["check"] = (time.perf_counter() - t0) * 1000
    if dry_run:
        return report
    if not report.is_clean:
        lines = [pr.line() for pr in report.problems]
        first = report.problems[0]
        raise InputError(
            f"{len(lines)} problem(s), nothing imported; {lines[0]}",
            field=first.column,
            rule=first.rule,
            problems=lines,
        )
    t1 = time.perf_counter()
    apply(p, report, actor=actor, request_id=request_id, progress=progress, source_name=path.name)
    report.timings_ms["write"] = (time.perf_counter() - t1) * 1000
    return report


def apply(
    p: Platform,
    report: ImportReport,
    *,
    actor: Actor,
    request_id: str,
    progress: Progress | None = None,
    source_name: str = "",
) -> None:
    kind = Kind(report.kind)
    t = service.table_of(kind)
    key = service.key_column(kind)
    report.import_id = new_uuid()
    now = p.clock.now()
    total = len(report.inserts) + len(report.updates) + len(report.new_buildings)
    done = 0
    with p.db.write() as conn:
        for chunk in _chunks(report.new_buildings):
            _insert_many(conn, store.buildings, chunk)
            done += len(chunk)
            if progress:
                progress("write", done, total)
        for chunk in _chunks(report.inserts):
            _insert_many(conn, t, chunk)
            done += len(chunk)
            if progress:
                progress("write", done, total)
        if report.updates:
            stmt = (
                update(t)
                .where(key == bindparam("_key"))
                .values({c: bindparam(c) for c in (*_COMPARED[kind], "updated_at")})
            )
            for chunk in _chunks([u for u, _ in report.updates]):
                conn.execute(stmt, chunk)
            history = [
                {
                    "kind": str(kind),
                    "record_id": u["_key"],
                    "change": "updated",
                    "before": h["before"],
                    "after": h["after"],
                    "source": f"import:{report.import_id}",
                    "actor_id": actor.id,
                    "at": now,
                }
                for u, h in report.updates
            ]
            for chunk in _chunks(history):
                conn.execute(insert(store.history), chunk)
            done += len(report.updates)
            if progress:
                progress("write", done, total)
        record(
            conn,
            actor,
            [
                Action(
                    "registry.imported",
                    "registry",
                    str(kind),
                    after={**report.summary(), "file": source_name, "applied": True},
                )
            ],
            at=now,
            request_id=request_id,
        )
    report.applied = True
    service.forget_index(p)


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):  # UTCDateTime's storage on SQLite: naive UTC
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return int(v)
    return v


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """``executemany`` of plain rows. On SQLite straight on the driver with the values already
    in SQLAlchemy's storage format: the per-row bind processing costs more than the insert
    itself at 100,000 rows (benchmarks/registry_import.py). PostgreSQL gets ``COPY``."""
    if not rows:
        return
    cols = list(rows[0])
    if conn.dialect.name == "postgresql":
        # COPY on the transaction's own connection: ~10× an executemany of INSERTs
        names = ", ".join(f'"{c}"' for c in cols)
        dbapi: Any = conn.connection.dbapi_connection
        with dbapi.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(tuple(r[c] for c in cols))
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), rows)
        return
    names = ", ".join(f'"{c}"' for c in cols)
    marks = ", ".join("?" * len(cols))
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
    conn.exec_driver_sql(sql, [tuple(_sqlite_value(r[c]) for c in cols) for r in rows])


def _chunks(items: list[Any], size: int = BATCH) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
