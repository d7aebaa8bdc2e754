"""What the big screen shows, computed on the server in one request each.

Why here and not in the browser: the screen needs every case in the viewer's scope summarised
five ways (KPIs, scene, street, department, trend) plus markers; fetching pages of 500 cases
and summing them in JavaScript would cost seconds and send personal fields the screen never
shows. The cases come through ``cases.queries.list_cases`` with the viewer as actor, so the
scope is the API's own. (The KPI cards are counted from those cases, not from the evaluation
rollups: at city scale they should read the rollups — a known limit, see docs/console.md.)

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
from civicloop.cases.model import OPEN_STATUSES, Channel, Status
from civicloop.core.errors import InputError
from civicloop.core.security import mask_text
from civicloop.discovery import alerts as discovery_alerts
from civicloop.discovery import emergency
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
PROACTIVE = frozenset(
    {Channel.PATROL, Channel.SENSOR, Channel.VIDEO, Channel.DATA_RULE, Channel.SUPERVISOR}
)
CLOSED = frozenset({Status.CLOSED, Status.FOLLOWED_UP})
NOT_CASES = frozenset({Status.VOIDED, Status.MERGED})

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


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def overview(p: Platform, actor: Actor) -> dict[str, Any]:
    """KPI cards, breakdowns by scene/street/department, a 30-day trend and live markers."""
    items, _total = queries.list_cases(p, actor, queries.CaseFilter(), limit=100_000)
    now = p.clock.now()
    today = now.astimezone(BEIJING).date()
    cases = [c for c in items if c["status"] not in NOT_CASES]
    closed = [c for c in cases if c["status"] in CLOSED]
    rated = [c for c in cases if c.get("satisfaction")]
    kpi = {
        "today_cases": sum(
            1 for c in cases if c["reported_at"].astimezone(BEIJING).date() == today
        ),
        "open_cases": sum(1 for c in cases if c["status"] in OPEN_STATUSES),
        "overdue_cases": sum(1 for c in cases if c["is_overdue"] and c["status"] in OPEN_STATUSES),
        "total_cases": len(cases),
        "closure_rate": _rate(len(closed), len(cases)),
        "on_time_rate": _rate(sum(1 for c in closed if not c["is_overdue"]), len(closed)),
        "proactive_rate": _rate(sum(1 for c in cases if c["channel"] in PROACTIVE), len(cases)),
        "satisfaction_rate": _rate(
            sum(1 for c in rated if c["satisfaction"] in ("satisfied", "basically_satisfied")),
            len(rated),
        ),
        "source": "cases",
    }
    cat = p.catalogue
    streets, departments = _names(p)
    scenes = Counter(c["scene_code"] for c in cases)
    by_street = Counter(c["street_code"] for c in cases)
    by_dept = Counter(c["lead_department"] for c in cases if c["lead_department"])
    first = today - timedelta(days=TREND_DAYS - 1)
    reported_per_day: Counter[str] = Counter()
    closed_per_day: Counter[str] = Counter()
    for c in cases:
        day = c["reported_at"].astimezone(BEIJING).date()
        if day >= first:
            reported_per_day[day.isoformat()] += 1
        if c.get("closed_at"):
            cday = c["closed_at"].astimezone(BEIJING).date()
            if cday >= first:
                closed_per_day[cday.isoformat()] += 1
    days = [(first + timedelta(days=i)).isoformat() for i in range(TREND_DAYS)]
    by_community: Counter[str] = Counter(c["grid_code"][:12] for c in cases if c["grid_code"])
    centroids = _grid_centroids(p)
    markers = []
    for c in cases:
        if c["status"] not in OPEN_STATUSES:
            continue
        where = _where(c, centroids)
        if where is None:
            continue
        markers.append(
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
            }
        )
        if len(markers) >= MAX_MARKERS:
            break
    return {
        "generated_at": now.isoformat(),
        "kpi": kpi,
        "by_scene": [
            {
                "code": code,
                "name": cat.scenes[code].name if code in cat.scenes else code,
                "name_en": cat.scenes[code].name_en if code in cat.scenes else code,
                "count": n,
            }
            for code, n in scenes.most_common(12)
        ],
        "by_street": [
            {"code": code, "name": streets.get(code, code), "name_en": code, "count": n}
            for code, n in by_street.most_common(12)
        ],
        "by_department": [
            {
                "code": code,
                "name": departments.get(code, (code, code))[0],
                "name_en": departments.get(code, (code, code))[1],
                "count": n,
            }
            for code, n in by_dept.most_common(12)
        ],
        "trend": {
            "days": days,
            "reported": [reported_per_day[d] for d in days],
            "closed": [closed_per_day[d] for d in days],
        },
        "density": dict(by_community),
        "markers": markers,
        "alerts": _alerts(p, actor),
        "emergency": _emergency(p),
    }


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
