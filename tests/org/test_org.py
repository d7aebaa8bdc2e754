"""The organisation: territorial tree, departments, roles and the responsibility matrix."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civicloop.org.model import RegionLevel, Role
from civicloop.org.store import departments, regions, users
from civicloop.runtime import Platform
from tests.conftest import SMALL
from tests.helpers import element, login, report_body


def test_the_seeded_tree_nests_and_every_role_has_a_persona(platform: Platform) -> None:
    with platform.db.read() as conn:
        counts = dict(
            conn.execute(select(regions.c.level, func.count()).group_by(regions.c.level)).all()
        )
        assert counts["district"] == 1 and counts["street"] == 36
        assert abs(counts["grid"] - SMALL["grids"]) <= SMALL["grids"] * 0.05
        orphans = conn.execute(
            select(func.count())
            .select_from(regions)
            .where(regions.c.level != "district", regions.c.parent_code.is_(None))
        ).scalar()
        assert orphans == 0
        bad_paths = [
            r.code
            for r in conn.execute(select(regions.c.code, regions.c.path))
            if not r.path.endswith(f"/{r.code}/")
        ]
        assert bad_paths == []
        roles = set(conn.execute(select(users.c.role)).scalars())
        kinds = set(conn.execute(select(departments.c.kind)).scalars())
    assert roles >= {str(r) for r in Role} - {"machine_client"}
    assert {
        "bureau",
        "street_office",
        "community",
        "utility",
        "property",
        "contractor",
        "social",
    } <= kinds


def test_regions_api_walks_the_tree(client: TestClient) -> None:
    h = login(client, "operator")
    streets = client.get("/api/v1/regions", headers=h).json()
    assert len(streets) == 36 and all(s["level"] == "street" for s in streets)
    lujiazui = next(s for s in streets if s["name"] == "陆家嘴街道")
    communities = client.get(f"/api/v1/regions?parent_code={lujiazui['code']}", headers=h).json()
    assert communities and all(c["parent_code"] == lujiazui["code"] for c in communities)
    one = client.get(f"/api/v1/regions/{communities[0]['code']}", headers=h).json()
    assert one["geometry"]["type"] in ("Polygon", "MultiPolygon")
    grids = client.get(
        f"/api/v1/regions?level=grid&parent_code={communities[0]['code']}&with_geometry=true",
        headers=h,
    ).json()
    assert grids and all(g["geometry"] for g in grids)
    assert len(client.get("/api/v1/departments", headers=h).json()) > 36


def test_a_street_override_in_the_matrix_routes_dispatch(
    client: TestClient, platform: Platform
) -> None:
    e = element(platform, check=False)
    admin = login(client, "admin")
    with platform.db.read() as conn:
        street = conn.execute(
            select(regions).where(
                regions.c.level == str(RegionLevel.STREET), regions.c.name == "陆家嘴街道"
            )
        ).first()
    assert street is not None
    body = {
        "element_code": e.code,
        "region_path": street.path,
        "lead": "@street",
        "assists": [],
        "loop_level": "small",
    }
    assert (
        client.put(
            "/api/v1/responsibilities", json=body, headers=login(client, "operator")
        ).status_code
        == 403
    )
    r = client.put("/api/v1/responsibilities", json=body, headers=admin)
    assert r.status_code == 204, r.text
    bad = client.put("/api/v1/responsibilities", json={**body, "lead": "nobody"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["field"] == "lead"
    cid = client.post(
        "/api/v1/cases", json=report_body(platform, e), headers=login(client, "citizen")
    ).json()["id"]
    chief = login(client, "chief")
    for action in ("accept", "file", "dispatch"):
        resp = client.post(f"/api/v1/cases/{cid}/{action}", headers=chief)
        assert resp.status_code == 200, resp.text
    assert resp.json()["lead_department"] == f"street-{street.code}"
    assert resp.json()["loop_level"] == "small"
    handler = login(client, "handler-street")
    assert client.post(f"/api/v1/cases/{cid}/sign", headers=handler).status_code == 200
