"""Plain typed helpers shared by tests: pick elements and places from the seeded district."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
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


def report_body(
    p: Platform, e: Element, *, where: str = "gridworker", **extra: Any
) -> dict[str, Any]:
    lon, lat = point_in(p, user_region(p, where))
    return {
        "element_code": e.code,
        "description": f"测试上报：{e.name}，请尽快处理。",
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
