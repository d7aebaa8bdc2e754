"""What the big screen shows, computed on the server in one request each.

Why here and not in the browser: the screen needs the viewer's scope summarised five ways
(KPIs, scene, street, department, trend) plus markers in one answer. The figures are read from
the evaluation context's rollups (``evaluation.reading.scope_summary``: grouped sums over the
last 30 days, the same numbers ``/api/v1/kpi`` gives for the viewer's street or district), so
the cost does not grow with the number of cases; only OPEN cases are read as rows (at most
``MAX_MARKERS``, through ``cases.queries.list_cases`` with the viewer as actor, so the scope is
the cases API's own) for the markers and the open/overdue cards.

Region outlines are simplified with shapely once per process and served as GeoJSON; grids
(thousands) only inside the requested bounding box, for the map's higher zoom levels.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

from shapely.geometry import box, mapping, shape  # simplification of region outlines
from sqlalchemy import select

from civicloop.cases import queries
from civicloop.core.errors import InputError
from civicloop.core.security import mask_text
from civicloop.discovery import alerts as discovery_alerts
from civicloop.discovery import emergency
from civicloop.evaluation import reading
from civicloop.org import service as org
from civicloop.org import store as org_store
from civicloop.org.model import Actor, RegionLevel
from civicloop.runtime import Platform

log = logging.getLogger("civicloop.web.screen")
BEIJING = timezone(timedelta(hours=8))
TREND_DAYS = 30
MAX_MARKERS = 3000
MAX_GRIDS = 2500
NAMES_SECONDS = 300
# Tolerance in degrees (~1 m per 1e-5): outlines stay recognisable at the zoom they appear.
TOLERANCE = {"street": 0.0006, "community": 0.0002, "grid": 0.00004}

_lock = threading.Lock()
_geo_cache: dict[tuple[int, str], Any] = {}


def _features(p: Platform, level: str) -> list[tuple[tuple[float, float, float, float], dict]]:
    """Simplified features of one level with their bounds, cached per platform."""
    key = (id(p), level)
    with _lock:
        hit = _geo_cache.get(key)
    if hit is not None:
        return hit
    r = org_store.regions.c
    with p.db.read() as conn:
        rows = conn.execute(
            select(r.code, r.name, r.parent_code, r.geometry).where(
                r.level == str(RegionLevel(level))
            )
        ).all()
    out = []
    for row in rows:
        if not row.geometry:
            continue
        geom = shape(row.geometry).simplify(TOLERANCE[level], preserve_topology=True)
        feature = {
            "type": "Feature",
            "properties": {"code": row.code, "name": row.name, "parent": row.parent_code},
            "geometry": _rounded(mapping(geom)),
        }
        out.append((geom.bounds, feature))
    with _lock:
        _geo_cache[key] = out
    return out


_warmed: set[int] = set()


def warm(p: Platform) -> None:
    """Simplify every level's outlines in the background the first time a screen is asked
    for, so the map's requests (and the first zoom into grids) find them ready."""
    with _lock:
        if id(p) in _warmed:
            return
        _warmed.add(id(p))

    def work() -> None:
        try:
            for level in ("street", "community", "grid"):
                _features(p, level)
            _grid_centroids(p)
        except Exception:  # a failed warm-up only means the first request does the work
            with _lock:
                _warmed.discard(id(p))

    threading.Thread(target=work, name="screen-warm-up", daemon=True).start()


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def geojson(p: Platform, level: str, bbox: str | None) -> bytes:
    """A FeatureCollection of one level; grids need ``bbox=west,south,east,north``."""
    feats = _features(p, level)
    if level == "grid" or bbox:
        try:
            w, s, e, n = (float(x) for x in (bbox or "").split(","))
        except ValueError:
            raise InputError(
                "bbox must be west,south,east,north in degrees", field="bbox", rule="bbox"
            ) from None
        area = box(w, s, e, n)
        feats = [f for f in feats if area.intersects(box(*f[0]))]
        feats = feats[:MAX_GRIDS]
    body = {"type": "FeatureCollection", "features": [f[1] for f in feats]}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


# The KPI cards: card key → the evaluation indicator it shows (values as /api/v1/kpi gives them).
KPI_INDICATORS = {
    "closure_rate": "closure_rate",
    "on_time_rate": "on_time_closure",
    "proactive_rate": "proactive_discovery_rate",
    "satisfaction_rate": "satisfaction_rate",
}
COUNT = "valid"  # a case in the charts: neither voided nor merged (as the old list counted)


def screen_period(p: Platform) -> str:
    """The screen's period: the last ``TREND_DAYS`` local days up to today (an evaluation
    period label, so the same numbers can be asked of ``/api/v1/kpi``)."""
    today = p.clock.now().astimezone(BEIJING).date()
    first = today - timedelta(days=TREND_DAYS - 1)
    return f"{first.isoformat()}..{today.isoformat()}"


def overview(p: Platform, actor: Actor) -> dict[str, Any]:
    """KPI cards, breakdowns by scene/street/department, a 30-day trend and live markers.

    Figures come from the evaluation rollups (``evaluation.reading.scope_summary``, in the
    viewer's evaluation scope: a handful of grouped sums, whatever the number of cases); the
    only case rows read are the OPEN ones, at most ``MAX_MARKERS``, for the markers and the
    open/overdue cards. Rollups follow the ledger through the kpi-consumer job (every 15 s),
    so a case filed a moment ago reaches the cards within that time.
    """
    now = p.clock.now()
    today = now.astimezone(BEIJING).date()
    period = screen_period(p)

    def summary(by: str | None, **kw: Any) -> dict[str, Any]:
        return reading.scope_summary(p, actor, period, by=by, **kw)

    total = summary(None, indicators=tuple(KPI_INDICATORS.values()), counters=(COUNT,))
    row = total["rows"][0]
    per_day = {r["key"]: r["counters"] for r in summary("day", counters=(COUNT, "closed"))["rows"]}
    by_element = summary("element_code", counters=(COUNT,))["rows"]
    by_street = summary("street_code", counters=(COUNT,))["rows"]
    by_dept = summary("department_code", counters=(COUNT,))["rows"]
    by_community = summary("community_code", counters=(COUNT,))["rows"]

    open_items, open_total = queries.list_cases(
        p, actor, queries.CaseFilter(is_open=True), limit=MAX_MARKERS
    )
    _, overdue_total = queries.list_cases(
        p, actor, queries.CaseFilter(is_open=True, is_overdue=True), limit=1
    )
    kpi: dict[str, Any] = {
        "today_cases": int(per_day.get(today.isoformat(), {}).get(COUNT, 0)),
        "open_cases": open_total,
        "overdue_cases": overdue_total,
        "total_cases": int(row["counters"][COUNT]),
        **{card: row["indicators"][ind]["value"] for card, ind in KPI_INDICATORS.items()},
        "indicators": dict(KPI_INDICATORS),
        "source": "rollups",
    }
    cat = p.catalogue
    streets, departments = _names(p)
    scenes: Counter[str] = Counter()
    for r in by_element:
        element = cat.elements.get(str(r["key"]))
        scenes[element.scene_code if element else str(r["key"])] += r["counters"][COUNT]
    first = today - timedelta(days=TREND_DAYS - 1)
    days = [(first + timedelta(days=i)).isoformat() for i in range(TREND_DAYS)]

    def top(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
        counted = Counter({str(r["key"]): int(r["counters"][COUNT]) for r in rows if r["key"]})
        return [(k, n) for k, n in counted.most_common(12) if n]

    return {
        "generated_at": now.isoformat(),
        "period": total["period"],
        "scope": total["scope"],
        "kpi": kpi,
        "by_scene": [
            {
                "code": code,
                "name": cat.scenes[code].name if code in cat.scenes else code,
                "name_en": cat.scenes[code].name_en if code in cat.scenes else code,
                "count": n,
            }
            for code, n in scenes.most_common(12)
            if n
        ],
        "by_street": [
            {"code": code, "name": streets.get(code, code), "name_en": code, "count": n}
            for code, n in top(by_street)
        ],
        "by_department": [
            {
                "code": code,
                "name": departments.get(code, (code, code))[0],
                "name_en": departments.get(code, (code, code))[1],
                "count": n,
            }
            for code, n in top(by_dept)
        ],
        # by the day cases were reported: reported, and of those, closed by now
        "trend": {
            "days": days,
            "reported": [int(per_day.get(d, {}).get(COUNT, 0)) for d in days],
            "closed": [int(per_day.get(d, {}).get("closed", 0)) for d in days],
        },
        "density": {str(r["key"]): int(r["counters"][COUNT]) for r in by_community if r["key"]},
        "markers": _markers(p, open_items),
        "alerts": _alerts(p, actor),
        "emergency": _emergency(p),
    }


def _markers(p: Platform, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Map markers of open cases (newest first), placed by their point or grid."""
    centroids = _grid_centroids(p)
    out = []
    for c in items:
        where = _where(c, centroids)
        if where is None:
            continue
        out.append(
            {
                "id": c["id"],
                "number": c["number"],
                "status": c["status"],
                "is_overdue": bool(c["is_overdue"]),
                "is_urgent": bool(c["is_urgent"]),
                "lon": where[0],
                "lat": where[1],
                "title": mask_text(c["title"] or ""),
                "scene": c["scene_code"],
                "priority": c.get("priority") or "normal",
            }
        )
    return out


def _names(p: Platform) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Street and department names, cached per platform for a few minutes: the district has
    ~1,400 departments (one per community committee) and reading them is most of a screen
    request's cost, while names change only with an administrative act."""
    key = (id(p), "names")
    now = time.monotonic()
    with _lock:
        hit = _geo_cache.get(key)
    if hit is not None and now - hit[0] < NAMES_SECONDS:
        return hit[1], hit[2]
    with p.db.read() as conn:
        streets = {r.code: r.name for r in org.list_regions(conn, level=RegionLevel.STREET)}
        departments = {d["code"]: (d["name"], d["name_en"]) for d in org.list_departments(conn)}
    with _lock:
        _geo_cache[key] = (now, streets, departments)
    return streets, departments


def _grid_centroids(p: Platform) -> dict[str, tuple[float, float]]:
    """Grid code → centroid, cached per platform (grids do not move while serving)."""
    key = (id(p), "grid-centroids")
    with _lock:
        hit = _geo_cache.get(key)
    if hit is None:
        with p.db.read() as conn:
            hit = {
                r.code: r.centroid
                for r in org.list_regions(conn, level=RegionLevel.GRID)
                if r.centroid
            }
        with _lock:
            _geo_cache[key] = hit
    return hit


def _where(case: dict[str, Any], centroids: dict[str, tuple[float, float]]) -> Any:
    """A case's point: its own coordinates, else its grid's centroid nudged by its id (so the
    cases of one grid do not hide under one marker; ±~80 m, inside a typical grid)."""
    if case["lon"] is not None and case["lat"] is not None:
        return (case["lon"], case["lat"])
    centre = centroids.get(case["grid_code"] or "")
    if centre is None:
        return None
    h = int(case["id"][:8], 16) if all(ch in "0123456789abcdef" for ch in case["id"][:8]) else 0
    dx = ((h & 0xFFFF) / 0xFFFF - 0.5) * 0.0016
    dy = (((h >> 16) & 0xFFFF) / 0xFFFF - 0.5) * 0.0014
    return (round(centre[0] + dx, 6), round(centre[1] + dy, 6))


def _alerts(p: Platform, actor: Actor) -> list[dict[str, Any]]:
    """Open discovery alerts in the viewer's territory; an empty list (logged) if reading them
    fails, so the map still shows cases."""
    try:
        found = discovery_alerts.list_alerts(p, actor, status="open", limit=MAX_MARKERS)
    except Exception:  # degrade: one context's failure must not blank the screen
        log.exception("screen: alerts unavailable")
        return []
    return [
        {
            "id": a.get("id"),
            "title": mask_text(str(a.get("summary") or "")),
            "element": a.get("element_code"),
            "severity": a.get("severity"),
            "lon": a.get("lon"),
            "lat": a.get("lat"),
            "case_id": a.get("case_id"),
        }
        for a in found
    ]


def _emergency(p: Platform) -> list[dict[str, Any]]:
    """Active emergency modes (``discovery.emergency.list_modes``), or none."""
    try:
        modes = emergency.list_modes(p, active_only=True)
    except Exception:  # degrade: no banner rather than no screen
        log.exception("screen: emergency modes unavailable")
        return []
    keys = ("scope_kind", "scope_code", "level", "hazard", "reason")
    return [{k: m.get(k) for k in keys} for m in modes]


def now_text(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
