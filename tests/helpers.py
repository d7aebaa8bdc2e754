"""Plain typed helpers shared by tests: pick elements and places from the seeded district."""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

from fastapi.testclient import TestClient
from shapely.geometry import Point
from sqlalchemy import select

from civicloop.catalogue.model import Element
from civicloop.org import service as org
from civicloop.org import store as org_store
from civicloop.org.model import RegionLevel
from civicloop.runtime import Platform


def element(
    p: Platform,
    *,
    check: bool | None = None,
    verify: bool | None = None,
    bureau_lead: bool = True,
    urgent: bool | None = None,
) -> Element:
    """The first element matching the wishes whose lead is a district bureau with a handler."""
    with p.db.read() as conn:
        handlers = {r.department_code for r in conn.execute(select(org_store.user_departments))}
    for e in p.catalogue.elements.values():
        if check is not None and e.needs_onsite_check is not check:
            continue
        if verify is not None and e.needs_verification is not verify:
            continue
        if bureau_lead and e.lead_department not in handlers:
            continue
        if urgent is not None:
            is_urgent = p.catalogue.deadline_classes[e.filing_conditions[0].deadline].is_urgent
            if is_urgent is not urgent:
                continue
        return e
    raise LookupError("no element matches")


def user_region(p: Platform, username: str) -> str:
    with p.db.read() as conn:
        code = conn.execute(
            select(org_store.users.c.region_code).where(org_store.users.c.username == username)
        ).scalar()
    assert code
    return str(code)


def point_in(p: Platform, region_code: str) -> tuple[float, float]:
    """A point inside the first grid of ``region_code`` (a community or a grid)."""
    with p.db.read() as conn:
        region = org.read_region(conn, region_code)
        assert region is not None
        if region.level is not RegionLevel.GRID:
            grids = [
                g
                for g in org.list_regions(conn, level=RegionLevel.GRID)
                if g.path.startswith(region.path)
            ]
            region = grids[0]
    assert region.centroid is not None
    return region.centroid


def handler_for(e: Element) -> str:
    return f"handler-{e.lead_department}"


_reports = itertools.count()
# Characters for the distinct detail of each test report (see report_body).
_DETAIL_CHARS = (
    "东南西北路口桥边楼下门前河岸公园学校商场广场车站菜场医院小区花园绿地树木灯杆井盖水管电线"
)


def spread_point(
    p: Platform, region_code: str, n: int, *, spacing_m: float = 40.0
) -> tuple[float, float]:
    """The n-th point of a spiral around the centroid of the region's first grid, kept inside
    that grid: successive test reports are different problems, never duplicates by distance."""
    lon0, lat0 = point_in(p, region_code)
    grid = p.grids.locate(lon0, lat0)
    assert grid is not None
    shape = p.grids.geometry(grid)
    dlat = spacing_m / 111_320.0
    dlon = dlat / math.cos(math.radians(lat0))
    k = 0
    for ring in range(0, 60):
        for i in range(max(1, 8 * ring)):
            angle = 2 * math.pi * i / max(1, 8 * ring)
            lon = lon0 + ring * dlon * math.cos(angle)
            lat = lat0 + ring * dlat * math.sin(angle)
            if shape.contains(Point(lon, lat)):
                if k == n % 400:
                    return lon, lat
                k += 1
    return lon0, lat0


def report_body(
    p: Platform, e: Element, *, where: str = "gridworker", **extra: Any
) -> dict[str, Any]:
    """A citizen's report of a new problem in the user's area.

    Each call describes a different problem — another point (40 m apart) and another detail —
    so the duplicate check files it as a new case; tests of duplicates build their own bodies.
    """
    n = next(_reports)
    lon, lat = spread_point(p, user_region(p, where), n)
    rnd = random.Random(n)
    detail = "".join(rnd.choice(_DETAIL_CHARS) for _ in range(24))
    return {
        "element_code": e.code,
        "description": f"测试上报：{e.name}，{detail}。",
        "lon": lon,
        "lat": lat,
        "channel": "app",
        "reporter_name": "王先生",
        "reporter_phone": "13812345678",
        **extra,
    }


def login(client: TestClient, username: str) -> dict[str, str]:
    from civicloop.demo.generator import DEMO_PASSWORD

    r = client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
