"""Duplicate reports: many people report one problem, the loop runs once.

The headline test feeds 100 reports about 10 real problems — ten callers each, from a few
metres apart, in their own words — and expects 10 cases, each with its nine later reporters
attached, each reporter able to follow the master case with their own tracking code.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi.testclient import TestClient

from civicloop.cases import duplicates
from civicloop.catalogue.model import Element
from civicloop.org import service as org
from civicloop.org.model import RegionLevel
from civicloop.runtime import Platform
from tests.helpers import login

# Ten problems and ten ways people describe each (the words differ; the place is the same).
PROBLEMS = [
    (
        "路灯不亮",
        ["路灯坏了晚上一片漆黑", "这里的路灯好几天不亮了", "晚上路灯不亮很危险", "路灯熄灭无人修"],
    ),
    ("井盖缺失", ["井盖没了很危险", "路上有个井盖丢了", "窨井盖缺失行人容易掉下去", "井盖不见了"]),
    ("垃圾堆积", ["垃圾堆了好几天没人清", "路边垃圾成堆发臭", "垃圾没人收", "垃圾乱堆放"]),
    ("占道经营", ["小贩占道摆摊", "人行道上摆满了摊位", "流动摊贩占用人行道", "占道经营影响通行"]),
    ("道路破损", ["路面坑坑洼洼", "马路上有个大坑", "道路破损积水", "路面塌陷"]),
    ("噪音扰民", ["晚上施工噪音很大", "半夜噪音吵得睡不着", "工地夜间施工扰民", "噪声太大"]),
    ("违规停车", ["车辆乱停占用消防通道", "人行道上停满了车", "乱停车堵路", "违停车辆挡住出口"]),
    ("绿化损坏", ["绿化带被破坏", "树被人砍了", "草坪被踩坏", "行道树倒了"]),
    ("积水", ["下雨后路面积水严重", "这里一下雨就积水", "积水没过脚踝", "路口积水"]),
    ("广告乱贴", ["墙上贴满小广告", "电线杆上乱贴广告", "小广告到处都是", "乱张贴"]),
]


def _elements(p: Platform) -> list[Element]:
    """Elements whose duplicate radius lets reporters a few metres apart be certain."""
    chosen = [
        e
        for e in p.catalogue.elements.values()
        if 50 <= e.dedupe_radius_m <= 300 and e.dedupe_window_hours >= 24
    ]
    assert chosen, "the catalogue has no element with a street-scale duplicate radius"
    return chosen


def _far_apart_grids(p: Platform, n: int, *, gap_m: float) -> list[tuple[float, float]]:
    with p.db.read() as conn:
        grids = org.list_regions(conn, level=RegionLevel.GRID)
    picked: list[tuple[float, float]] = []
    for g in grids:
        assert g.centroid is not None
        if all(duplicates.distance_m(*g.centroid, *q) > gap_m for q in picked):
            picked.append(g.centroid)
        if len(picked) == n:
            return picked
    raise AssertionError(f"the test district has no {n} grids {gap_m} m apart")


def _near(lon: float, lat: float, metres: float, bearing_deg: float) -> tuple[float, float]:
    dlat = metres * math.cos(math.radians(bearing_deg)) / 111_320.0
    dlon = metres * math.sin(math.radians(bearing_deg)) / (111_320.0 * math.cos(math.radians(lat)))
    return lon + dlon, lat + dlat


def test_hundred_reports_about_ten_problems_make_ten_cases(
    client: TestClient, platform: Platform
) -> None:
    operator = login(client, "operator")
    elements = _elements(platform)
    places = _far_apart_grids(platform, len(PROBLEMS), gap_m=700)
    callers: dict[str, list[str]] = {}  # master case id → phones of everyone who reported it
    answers: list[dict[str, Any]] = []
    for k in range(10):  # ten rounds: each problem gets one more caller per round
        for i, (title, phrasings) in enumerate(PROBLEMS):
            e = elements[i % len(elements)]
            lon, lat = _near(*places[i], metres=1.5 * k, bearing_deg=36.0 * k)
            phone = f"139{i:02d}{k:02d}0000"[:11]
            r = client.post(
                "/api/v1/cases",
                json={
                    "element_code": e.code,
                    "title": title,
                    "description": f"{phrasings[k % len(phrasings)]}，请尽快处理（来电{k + 1}）",
                    "lon": lon,
                    "lat": lat,
                    "channel": "hotline",
                    "reporter_name": f"市民{i}{k}",
                    "reporter_phone": phone,
                },
                headers=operator,
            )
            assert r.status_code == 201, r.text
            body = r.json()
            answers.append(body)
            master = body["duplicate_of"] or body["id"]
            callers.setdefault(master, []).append(phone)
    assert len(callers) == 10
    assert all(len(phones) == 10 for phones in callers.values())
    # each master's attached reporters are exactly its nine later callers
    with platform.db.read() as conn:
        from sqlalchemy import select

        from civicloop.cases.store import case_reporters

        for master, phones in callers.items():
            attached = [
                r.reporter_phone
                for r in conn.execute(
                    select(case_reporters)
                    .where(case_reporters.c.case_id == master)
                    .order_by(case_reporters.c.id)
                )
            ]
            assert attached == phones[1:]
    # every reporter follows the master case with their own code (public, no personal data)
    codes = {a["tracking_code"] for a in answers}
    assert len(codes) == 100
    one = next(a for a in answers if a["duplicate_of"])
    tracked = client.get(f"/api/v1/track/{one['tracking_code']}")
    assert tracked.status_code == 200
    master_number = client.get(f"/api/v1/cases/{one['duplicate_of']}", headers=operator).json()
    assert tracked.json()["number"] == master_number["number"]
    assert "139" not in tracked.text


def test_an_uncertain_duplicate_is_filed_and_shown_to_the_operator(
    client: TestClient, platform: Platform
) -> None:
    citizen, operator = login(client, "citizen"), login(client, "operator")
    e = max(_elements(platform), key=lambda x: x.dedupe_radius_m)
    lon, lat = _far_apart_grids(platform, 1, gap_m=0)[0]
    first = client.post(
        "/api/v1/cases",
        json={"element_code": e.code, "description": "东侧人行道的问题", "lon": lon, "lat": lat},
        headers=citizen,
    ).json()
    # 0.8 of the radius away, in other words: possibly the same problem, not certainly
    lon2, lat2 = _near(lon, lat, metres=0.8 * e.dedupe_radius_m, bearing_deg=90)
    second = client.post(
        "/api/v1/cases",
        json={"element_code": e.code, "description": "西边路口那里也有", "lon": lon2, "lat": lat2},
        headers=citizen,
    ).json()
    assert second["duplicate_of"] is None and second["id"] != first["id"]
    assert [c["case_id"] for c in second["duplicate_candidates"]] == [first["id"]]
    assert second["duplicate_candidates"][0]["certain"] is False
    listed = client.get(f"/api/v1/cases/{second['id']}/duplicates", headers=operator)
    assert listed.status_code == 200
    assert [c["case_id"] for c in listed.json()["items"]] == [first["id"]]
    merged = client.post(
        f"/api/v1/cases/{second['id']}/merge", json={"master_id": first["id"]}, headers=operator
    )
    assert merged.status_code == 200 and merged.json()["status"] == "merged"


def test_an_attached_reporter_sees_the_master_case_but_not_the_first_reporters_contact(
    client: TestClient, platform: Platform
) -> None:
    e = _elements(platform)[0]
    lon, lat = _far_apart_grids(platform, 1, gap_m=0)[0]
    operator, citizen = login(client, "operator"), login(client, "citizen")
    master = client.post(
        "/api/v1/cases",
        json={
            "element_code": e.code,
            "description": "路灯不亮了",
            "lon": lon,
            "lat": lat,
            "channel": "hotline",
            "reporter_name": "张先生",
            "reporter_phone": "13911112222",
        },
        headers=operator,
    ).json()
    mine = client.post(
        "/api/v1/cases",
        json={"element_code": e.code, "description": "路灯坏了", "lon": lon, "lat": lat},
        headers=citizen,
    )
    assert mine.status_code == 201
    assert mine.json()["duplicate_of"] == master["id"]
    seen = client.get(f"/api/v1/cases/{master['id']}", headers=citizen)
    assert seen.status_code == 200
    assert "13911112222" not in seen.text and "张先生" not in seen.text
    listed = client.get("/api/v1/cases", headers=citizen).json()
    assert master["id"] in {c["id"] for c in listed["items"]}


def test_the_nearby_endpoint_shows_open_cases_without_personal_data(
    client: TestClient, platform: Platform
) -> None:
    e = _elements(platform)[0]
    lon, lat = _far_apart_grids(platform, 1, gap_m=0)[0]
    client.post(
        "/api/v1/cases",
        json={
            "element_code": e.code,
            "description": "联系我13911112222，路灯不亮",
            "lon": lon,
            "lat": lat,
            "reporter_name": "张先生",
            "reporter_phone": "13911112222",
        },
        headers=login(client, "citizen"),
    )
    r = client.get("/api/v1/nearby", params={"lon": lon, "lat": lat, "radius_m": 200})
    assert r.status_code == 200
    items = r.json()["items"]
    assert len(items) == 1 and items[0]["element_code"] == e.code
    assert items[0]["distance_m"] < 1
    assert "13911112222" not in r.text and "张先生" not in r.text
    bad = client.get("/api/v1/nearby", params={"lon": lon, "lat": lat, "radius_m": 50_000})
    assert bad.status_code == 422 and bad.json()["field"] == "radius_m"
