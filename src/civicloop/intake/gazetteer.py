"""The district's gazetteer (地名地址库): generating it for the demo, importing it from CSV.

Entries are roads (with a line along which house numbers run), compounds and landmarks. The
demo gazetteer lays real Pudong road names on their approximate real courses, clipped to the
district's grids, and places compounds and landmarks inside grids of the street they belong to
(positions come from the region polygons, read through ``civicloop.org.service``). Everything
is keyed by the seed, so the same district and seed give the same gazetteer.

Import is all-or-nothing: every row is checked first (name, kind, lon/lat inside the district,
aliases, road lines) and every problem is reported by row and column; only a clean file is
written, in one transaction with its ledger entry. An existing name is replaced.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import LineString, MultiLineString, shape
from sqlalchemy import delete, func, insert, select, update

from civicloop.core.errors import ConflictError, InputError
from civicloop.intake import pudong_places as places
from civicloop.intake import store
from civicloop.intake.model import EntryKind
from civicloop.ledger.service import Action, record
from civicloop.org import service as org
from civicloop.org.model import SYSTEM_ACTOR, Actor, RegionLevel
from civicloop.runtime import Platform

MAX_NAME = 64


def seed_gazetteer(p: Platform, *, seed: int) -> int:
    """Generate the demo gazetteer for the stored district; returns the number of entries.

    Replaces entries generated before (imported ones are kept unless a name collides).
    Raises ConflictError when no district is stored yet.
    """
    grids = org.list_grids(p)
    if not grids:
        raise ConflictError("no district is stored yet", code="intake.no_district")
    with p.db.read() as conn:
        streets = org.list_regions(conn, level=RegionLevel.STREET)
    by_street: dict[str, list[tuple[str, shapely.Geometry]]] = {}
    for code, geometry, path in grids:
        street = [c for c in path.split("/") if c][1]
        by_street.setdefault(street, []).append((code, shape(geometry)))
    # ~10 m of buffer closes the centimetre slivers between snapped grids, which would
    # otherwise cut a road into pieces
    district = shapely.union_all([g for items in by_street.values() for _, g in items]).buffer(1e-4)
    district_code = (streets[0].parent_code or "") if streets else ""
    rows: list[dict[str, Any]] = []

    def locate(lon: float, lat: float) -> tuple[str | None, str | None]:
        grid = p.grids.locate(lon, lat)
        return grid, (grid[:9] if grid else None)

    def in_street(suffix: str, key: str) -> tuple[float, float, str, str] | None:
        street_code = f"{district_code}{suffix}"
        items = by_street.get(street_code)
        if not items:
            return None
        rng = random.Random(f"{seed}:{key}")
        code, polygon = items[rng.randrange(len(items))]
        pt = polygon.representative_point()
        return round(pt.x, 6), round(pt.y, 6), code, street_code

    for name, aliases, points, number_max in places.ROADS:
        clipped = LineString(points).intersection(district)
        if isinstance(clipped, MultiLineString):
            clipped = max(clipped.geoms, key=lambda g: g.length)
        if not isinstance(clipped, LineString) or clipped.is_empty:
            continue
        # keep the number range proportional to the part of the road inside the district
        share = clipped.length / LineString(points).length
        share = 1.0 if share > 0.98 else share
        mid = clipped.interpolate(0.5, normalized=True)
        grid, street_of = locate(mid.x, mid.y)
        rows.append(
            _row(
                name,
                EntryKind.ROAD,
                aliases,
                (round(mid.x, 6), round(mid.y, 6)),
                grid,
                street_of,
                line=[[round(x, 6), round(y, 6)] for x, y in clipped.coords],
                number_max=max(1, int(number_max * share)),
            )
        )
    for name, aliases, suffix in places.COMPOUNDS:
        spot = in_street(suffix, name)
        if spot:
            rows.append(_row(name, EntryKind.COMPOUND, aliases, spot[:2], spot[2], spot[3]))
    for name, kind, aliases, lon, lat, suffix in places.LANDMARKS:
        grid, street_of = locate(lon, lat)
        if grid:
            rows.append(_row(name, EntryKind(kind), aliases, (lon, lat), grid, street_of))
        elif spot := in_street(suffix, name):
            rows.append(_row(name, EntryKind(kind), aliases, spot[:2], spot[2], spot[3]))
    taken = {r["name"] for r in rows}
    for region in streets:
        short = short_street_name(region.name)
        rng = random.Random(f"{seed}:{region.code}")
        suffixes = rng.sample(places.COMPOUND_SUFFIXES, 3)
        generated = [(f"{short}{s}", EntryKind.COMPOUND) for s in suffixes]
        generated += [(f"{short}{s}", EntryKind(k)) for s, k in places.STREET_PLACES]
        for name, kind in generated:
            spot = in_street(region.code[len(district_code) :], name)
            if spot and name not in taken:
                taken.add(name)
                rows.append(_row(name, kind, (), spot[:2], spot[2], spot[3]))
    now = p.clock.now()
    with p.db.write() as conn:
        conn.execute(
            delete(store.gazetteer_entries).where(store.gazetteer_entries.c.source == "generated")
        )
        conn.execute(
            delete(store.gazetteer_entries).where(store.gazetteer_entries.c.name.in_(taken))
        )
        conn.execute(insert(store.gazetteer_entries), [{**r, "updated_at": now} for r in rows])
        record(
            conn,
            SYSTEM_ACTOR,
            [
                Action(
                    "gazetteer.generated",
                    "gazetteer",
                    "district",
                    after={"entries": len(rows), "seed": seed},
                )
            ],
            at=now,
            request_id="seed",
        )
    invalidate(p)
    return len(rows)


def short_street_name(name: str) -> str:
    """陆家嘴街道 → 陆家嘴, 潍坊新村街道 → 潍坊, 南码头路街道 → 南码头, 川沙新镇 → 川沙."""
    for suffix in ("新村街道", "路街道", "街道", "新镇", "镇"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _row(
    name: str,
    kind: EntryKind,
    aliases: tuple[str, ...] | list[str],
    point: tuple[float, float],
    grid: str | None,
    street: str | None,
    *,
    line: list[list[float]] | None = None,
    number_max: int | None = None,
    source: str = "generated",
) -> dict[str, Any]:
    return {
        "name": name,
        "kind": str(kind),
        "aliases": list(aliases),
        "lon": point[0],
        "lat": point[1],
        "grid_code": grid,
        "street_code": street,
        "line": line,
        "number_max": number_max,
        "source": source,
    }


def count_entries(p: Platform) -> dict[str, int]:
    """Entries per kind."""
    with p.db.read() as conn:
        q = select(store.gazetteer_entries.c.kind, func.count()).group_by(
            store.gazetteer_entries.c.kind
        )
        return {str(k): int(n) for k, n in conn.execute(q)}


def list_entries(p: Platform) -> list[dict[str, Any]]:
    with p.db.read() as conn:
        q = select(store.gazetteer_entries).order_by(store.gazetteer_entries.c.id)
        return [dict(r._mapping) for r in conn.execute(q)]


# ---------------------------------------------------------------- import


@dataclass
class ImportReport:
    """What an import found: rows to write and every problem as (row, column, message)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        return not self.problems


REQUIRED = ("name", "kind", "lon", "lat")


def check_csv(p: Platform, content: str) -> ImportReport:
    """Parse and check a gazetteer CSV (header: name, kind, lon, lat[, aliases, line, number_max]).

    ``aliases`` are separated by ``|``; a road's ``line`` is ``lon lat;lon lat;…``. Row numbers
    count the header as row 1, as a spreadsheet shows them.
    """
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.problems.extend((1, c, "required column is missing") for c in missing)
        return report
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        bad = len(report.problems)
        problems = report.problems
        name = row.get("name", "")
        if not name:
            problems.append((number, "name", "must not be empty"))
        elif len(name) > MAX_NAME:
            problems.append((number, "name", f"longer than {MAX_NAME} characters"))
        elif name in seen:
            problems.append((number, "name", f"appears twice (also row {seen[name]})"))
        else:
            seen[name] = number
        kind = row.get("kind", "")
        if kind not in {k.value for k in EntryKind}:
            problems.append(
                (number, "kind", f"{kind!r} is not one of {', '.join(k.value for k in EntryKind)}")
            )
        coords: dict[str, float] = {}
        for col, low, high in (("lon", -180.0, 180.0), ("lat", -90.0, 90.0)):
            try:
                value = float(row.get(col, ""))
            except ValueError:
                problems.append((number, col, f"{row.get(col, '')!r} is not a number"))
                continue
            if not low <= value <= high:
                problems.append((number, col, "not WGS84 degrees"))
            else:
                coords[col] = value
        grid = None
        if len(coords) == 2:
            grid = p.grids.locate(coords["lon"], coords["lat"])
            if grid is None:
                problems.append((number, "lon", "the point is outside the district's grids"))
        aliases = [a.strip() for a in row.get("aliases", "").split("|") if a.strip()]
        if any(len(a) > MAX_NAME for a in aliases):
            problems.append((number, "aliases", f"an alias is longer than {MAX_NAME} characters"))
        line = _parse_line(row.get("line", ""), number, problems)
        number_max = None
        if row.get("number_max"):
            if not row["number_max"].isdigit() or int(row["number_max"]) < 1:
                problems.append((number, "number_max", "must be a whole number ≥ 1"))
            else:
                number_max = int(row["number_max"])
        if (line or number_max) and kind != EntryKind.ROAD:
            problems.append((number, "line", "only roads have a line and house numbers"))
        if bool(line) != bool(number_max) and kind == EntryKind.ROAD:
            problems.append((number, "number_max", "give line and number_max together"))
        if len(problems) == bad and grid is not None:
            report.rows.append(
                _row(
                    name,
                    EntryKind(kind),
                    aliases,
                    (coords["lon"], coords["lat"]),
                    grid,
                    grid[:9],
                    line=line,
                    number_max=number_max,
                    source="import",
                )
            )
    return report


def _parse_line(
    text: str, number: int, problems: list[tuple[int, str, str]]
) -> list[list[float]] | None:
    if not text:
        return None
    points: list[list[float]] = []
    for pair in text.split(";"):
        parts = pair.split()
        try:
            lon, lat = float(parts[0]), float(parts[1])
        except (ValueError, IndexError):
            problems.append((number, "line", f"{pair!r} is not 'lon lat'"))
            return None
        points.append([lon, lat])
    if len(points) < 2:
        problems.append((number, "line", "a line needs at least two points"))
        return None
    return points


def import_csv(
    p: Platform, content: str, *, actor: Actor = SYSTEM_ACTOR, apply: bool = False
) -> ImportReport:
    """Check a CSV and, with ``apply`` and no problems, write all of it in one transaction.

    Raises InputError (listing every problem) when ``apply`` is asked of a file with problems.
    """
    report = check_csv(p, content)
    names = [r["name"] for r in report.rows]
    with p.db.read() as conn:
        col = store.gazetteer_entries.c.name
        report.replaced = sorted(
            str(n) for n in conn.execute(select(col).where(col.in_(names))).scalars()
        )
    if not apply:
        return report
    if not report.is_clean:
        lines = [f"row {r}, column {c}: {m}" for r, c, m in report.problems]
        raise InputError(
            lines[0], field=report.problems[0][1], rule="gazetteer_csv", problems=lines
        )
    now = p.clock.now()
    with p.db.write() as conn:
        for r in report.rows:
            if r["name"] in report.replaced:
                conn.execute(
                    update(store.gazetteer_entries)
                    .where(store.gazetteer_entries.c.name == r["name"])
                    .values(**r, updated_at=now)
                )
            else:
                conn.execute(insert(store.gazetteer_entries).values(**r, updated_at=now))
        record(
            conn,
            actor,
            [
                Action(
                    "gazetteer.imported",
                    "gazetteer",
                    "district",
                    after={"rows": len(report.rows), "replaced": len(report.replaced)},
                )
            ],
            at=now,
            request_id="import",
        )
    invalidate(p)
    return report


def invalidate(p: Platform) -> None:
    """Drop the geocoder's in-memory copy of the gazetteer (after a change)."""
    from civicloop.intake import geocoder

    geocoder.forget(p)
