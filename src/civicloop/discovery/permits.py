"""Muck-truck transport permits (渣土运输许可): what a truck may do, for the muck detector.

A permit names the truck's plate, the transport company (GB 32100 credit code), the permitted
route (a LineString) and its corridor width in metres, the permitted hours (local time; may
wrap midnight, e.g. 22:00–05:00 as most cities require), a validity period and the registered
disposal sites (消纳场, each a point and a radius). The muck detector checks each truck
position against the valid permits for its plate.

Import takes JSON — ``{"permits": [ … ]}`` or a list — or a GeoJSON FeatureCollection whose
features are the routes and whose properties are the rest. An import is all or nothing: every
bad field is reported (``permits[2].route``, rule) and nothing is written. Importing a permit
number again replaces it. Ledger: ``permit.imported`` per permit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from civicloop.core.errors import InputError
from civicloop.core.idcodes import is_valid_credit_code
from civicloop.core.rawsql import Raw
from civicloop.discovery.alert_store import permits as permits_table  # noqa: F401  (tables)
from civicloop.discovery.rules_model import Geofence, TimeWindow
from civicloop.ledger.service import Action as LedgerAction
from civicloop.ledger.service import record
from civicloop.org.model import Actor
from civicloop.runtime import Platform

CACHE_SECONDS = 30.0
_CACHE_ATTR = "_discovery_permits"


@dataclass(frozen=True)
class Site:
    name: str
    lon: float
    lat: float
    radius_m: float


@dataclass(frozen=True)
class Permit:
    permit_no: str
    plate: str
    company_credit_code: str | None
    company_name: str | None
    corridor: Geofence
    window: TimeWindow
    valid_from: datetime | None
    valid_to: datetime | None
    sites: tuple[Site, ...]

    def is_valid_at(self, at: datetime) -> bool:
        return (self.valid_from is None or at >= self.valid_from) and (
            self.valid_to is None or at <= self.valid_to
        )

    def at_site(self, lon: float, lat: float) -> Site | None:
        from civicloop.cases.duplicates import distance_m

        for s in self.sites:
            if distance_m(lon, lat, s.lon, s.lat) <= s.radius_m:
                return s
        return None


def normalise_plate(plate: str) -> str:
    return "".join(str(plate).split()).upper()


def _parse_time(value: Any, where: str, problems: list[str]) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"{where}: {value!r} (rule: an ISO 8601 time)")
        return None
    if at.tzinfo is None:
        problems.append(f"{where}: {value!r} has no time zone (rule: ISO 8601 with an offset)")
        return None
    return at


def parse_permits(data: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows ready to store, and every problem (``permits[i].field: message (rule: …)``)."""
    items: list[tuple[str, dict[str, Any], Any]] = []
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        for i, f in enumerate(data.get("features") or []):
            props = f.get("properties") if isinstance(f, dict) else None
            geom = f.get("geometry") if isinstance(f, dict) else None
            route = geom.get("coordinates") if isinstance(geom, dict) else None
            if isinstance(geom, dict) and geom.get("type") != "LineString":
                route = None
            items.append((f"features[{i}]", dict(props or {}), route))
    else:
        seq = data.get("permits") if isinstance(data, dict) else data
        if not isinstance(seq, list):
            return [], ["permits: missing (rule: a list, {'permits': [...]}, or GeoJSON)"]
        for i, item in enumerate(seq):
            if not isinstance(item, dict):
                items.append((f"permits[{i}]", {}, None))
            else:
                route = item.get("route")
                if isinstance(route, dict):
                    route = route.get("coordinates")
                items.append((f"permits[{i}]", item, route))
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for where, item, route in items:
        found: list[str] = []
        no = str(item.get("permit_no") or "").strip()
        if not no or len(no) > 64:
            found.append(f"{where}.permit_no: missing (rule: required, up to 64 characters)")
        plate = normalise_plate(item.get("plate") or "")
        if not 5 <= len(plate) <= 16:
            found.append(f"{where}.plate: {item.get('plate')!r} (rule: a vehicle plate)")
        credit = item.get("company_credit_code")
        if credit and not is_valid_credit_code(str(credit)):
            found.append(f"{where}.company_credit_code: {credit!r} (rule: GB 32100 check digit)")
        width = item.get("corridor_m", 50)
        if not isinstance(width, int | float) or isinstance(width, bool) or width <= 0:
            found.append(f"{where}.corridor_m: {width!r} (rule: positive metres)")
            width = 50
        line: list[list[float]] = []
        if not isinstance(route, list) or len(route) < 2:
            found.append(f"{where}.route: missing (rule: a LineString of ≥ 2 [lon, lat])")
        else:
            try:
                line = [[float(x), float(y)] for x, y in route]
                Geofence.corridor([(x, y) for x, y in line], float(width))
            except (TypeError, ValueError) as exc:
                found.append(f"{where}.route: {exc} (rule: a LineString of [lon, lat])")
        window = str(item.get("window") or "00:00-00:00")  # all day
        try:
            TimeWindow.from_spec({"between": window})
        except ValueError as exc:
            found.append(f"{where}.window: {exc} (rule: HH:MM-HH:MM)")
        sites = []
        for j, s in enumerate(item.get("disposal_sites") or []):
            try:
                sites.append(
                    {
                        "name": str(s.get("name") or f"site {j + 1}"),
                        "lon": float(s["lon"]),
                        "lat": float(s["lat"]),
                        "radius_m": float(s.get("radius_m", 150)),
                    }
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                found.append(f"{where}.disposal_sites[{j}]: (rule: {{name, lon, lat, radius_m}})")
        valid_from = _parse_time(item.get("valid_from"), f"{where}.valid_from", found)
        valid_to = _parse_time(item.get("valid_to"), f"{where}.valid_to", found)
        problems.extend(found)
        if not found:
            start, end = window.split("-")
            rows.append(
                {
                    "permit_no": no,
                    "plate": plate,
                    "company_credit_code": str(credit) if credit else None,
                    "company_name": str(item.get("company_name") or "")[:200] or None,
                    "route": {"type": "LineString", "coordinates": line},
                    "corridor_m": float(width),
                    "window_start": start.strip(),
                    "window_end": end.strip(),
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                    "disposal_sites": sites,
                }
            )
    return rows, problems


def import_permits(p: Platform, actor: Actor, data: Any, *, request_id: str = "-") -> int:
    """Store the permits in ``data`` (all or nothing); the number stored.

    Raises InputError listing every problem (the first names the field and rule).
    """
    rows, problems = parse_permits(data)
    if problems:
        first = problems[0]
        raise InputError(
            f"{len(problems)} problem(s): " + "; ".join(problems[:20]),
            field=first.split(":", 1)[0],
            rule=first.rsplit("(rule: ", 1)[-1].rstrip(")"),
        )
    now = p.clock.now()
    with p.db.write() as conn:
        raw = Raw(conn)
        for row in rows:
            raw.run("DELETE FROM discovery_permits WHERE permit_no = :n", {"n": row["permit_no"]})
            raw.run(
                "INSERT INTO discovery_permits (permit_no, plate, company_credit_code,"
                " company_name, route, corridor_m, window_start, window_end, valid_from,"
                " valid_to, disposal_sites, imported_at) VALUES (:permit_no, :plate,"
                " :company_credit_code, :company_name, :route, :corridor_m, :window_start,"
                " :window_end, :valid_from, :valid_to, :disposal_sites, :imported_at)",
                {
                    **row,
                    "route": raw.js(row["route"]),
                    "disposal_sites": raw.js(row["disposal_sites"]),
                    "valid_from": raw.ts(row["valid_from"]),
                    "valid_to": raw.ts(row["valid_to"]),
                    "imported_at": raw.ts(now),
                },
            )
        record(
            conn,
            actor,
            [
                LedgerAction(
                    "permit.imported",
                    "permit",
                    r["permit_no"],
                    after={"plate": r["plate"], "window": f"{r['window_start']}-{r['window_end']}"},
                )
                for r in rows
            ],
            at=now,
            request_id=request_id,
        )
    setattr(p, _CACHE_ATTR, None)
    return len(rows)


def permits_by_plate(p: Platform) -> dict[str, list[Permit]]:
    """Every stored permit by plate, cached for ``CACHE_SECONDS`` (an import clears it)."""
    hit = getattr(p, _CACHE_ATTR, None)
    now = time.monotonic()
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    out: dict[str, list[Permit]] = {}
    with p.db.read() as conn:
        raw = Raw(conn)
        for r in raw.all("SELECT * FROM discovery_permits ORDER BY permit_no"):
            route = raw.parse_js(r["route"])
            sites = raw.parse_js(r["disposal_sites"]) or []
            permit = Permit(
                permit_no=str(r["permit_no"]),
                plate=str(r["plate"]),
                company_credit_code=r["company_credit_code"],
                company_name=r["company_name"],
                corridor=Geofence.corridor(
                    [(float(x), float(y)) for x, y in route["coordinates"]], float(r["corridor_m"])
                ),
                window=TimeWindow.from_spec({"between": f"{r['window_start']}-{r['window_end']}"}),
                valid_from=raw.parse_ts(r["valid_from"]),
                valid_to=raw.parse_ts(r["valid_to"]),
                sites=tuple(Site(s["name"], s["lon"], s["lat"], s["radius_m"]) for s in sites),
            )
            out.setdefault(permit.plate, []).append(permit)
    setattr(p, _CACHE_ATTR, (now, out))
    return out


def list_permits(p: Platform) -> list[dict[str, Any]]:
    return [
        {
            "permit_no": x.permit_no,
            "plate": x.plate,
            "company_credit_code": x.company_credit_code,
            "company_name": x.company_name,
            "valid_from": x.valid_from,
            "valid_to": x.valid_to,
            "sites": [s.name for s in x.sites],
        }
        for xs in permits_by_plate(p).values()
        for x in xs
    ]
