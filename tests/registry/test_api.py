"""The registry over HTTP: records (masked, by territory), profiles, site corrections, the
group-renting detector and the intake geocoder asking the building registry first."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from civicloop.core.idcodes import resident_id_check_char
from civicloop.ledger import service as ledger
from civicloop.registry import profiles, service
from civicloop.registry.importer import import_file
from civicloop.runtime import Platform
from tests.helpers import login, point_in, user_region

ROAD = "测试路"  # not in the gazetteer: only the building registry knows it


def _id(born: str, seq: int) -> str:
    first = f"310115{born}{seq:03d}"
    return first + resident_id_check_char(first)


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.fixture
def flat(platform: Platform, tmp_path: Path) -> dict[str, Any]:
    """Two flats in the grid worker's community: R1 (30 m², 3 registered), R2 (an elder alone)."""
    lon, lat = point_in(platform, user_region(platform, "gridworker"))
    rooms = _csv(
        tmp_path / "rooms.csv",
        [
            ["room_id", "address", "use", "area_m2", "residents_limit", "lon", "lat"],
            ["R1", f"{ROAD}1弄1号101室", "住宅", "30", "3", str(lon), str(lat)],
            ["R2", f"{ROAD}1弄1号102室", "住宅", "45", "", str(lon), str(lat)],
        ],
    )
    people = _csv(
        tmp_path / "people.csv",
        [
            ["person_id", "id_number", "name", "address", "phone", "living_alone"],
            ["P1", _id("19800101", 11), "王大明", f"{ROAD}1弄1号101室", "13812345678", "0"],
            ["P2", _id("19850202", 12), "李小红", f"{ROAD}一弄一号101室", "", "否"],
            ["P3", _id("19900303", 13), "张三", f"{ROAD}1弄1号楼101", "", "0"],
            ["P4", _id("19400404", 24), "陈阿婆", f"上海市浦东新区{ROAD}1弄1号102室", "", "是"],
        ],
    )
    import_file(platform, "rooms", rooms)
    import_file(platform, "people", people)
    return {"lon": lon, "lat": lat}


def test_records_are_masked_and_limited_to_the_territory(
    client: TestClient, platform: Platform, flat: dict[str, Any]
) -> None:
    url = "/api/v1/registry/records/person/P1"
    mine = client.get(url, headers=login(client, "street-ljz"))
    assert mine.status_code == 200
    assert mine.json()["name"] == "王大明" and mine.json()["phone"] == "13812345678"
    masked = client.get(url, headers=login(client, "operator")).json()
    assert masked["name"] != "王大明" and "*" in masked["id_number"]
    assert "5678" in masked["phone"] and masked["phone"] != "13812345678"
    assert client.get(url, headers=login(client, "street-hm")).status_code == 404
    assert client.get(url, headers=login(client, "citizen")).status_code == 403
    page = client.get("/api/v1/registry/records/person", headers=login(client, "street-ljz"))
    assert page.status_code == 200, page.text
    assert page.json()["total"] == 4 and page.json()["items"][0]["id"] == "P1"
    other = client.get("/api/v1/registry/records/person", headers=login(client, "street-hm"))
    assert other.json()["total"] == 0
    bad = client.get("/api/v1/registry/records/planet/P1", headers=login(client, "admin"))
    assert bad.status_code == 422 and bad.json()["field"] == "kind"


def test_room_profile_has_residents_cases_and_contributed_sections(
    client: TestClient, platform: Platform, flat: dict[str, Any]
) -> None:
    from tests.helpers import element, report_body

    body = report_body(platform, element(platform, check=False))
    body.update(lon=flat["lon"], lat=flat["lat"])
    case = client.post("/api/v1/cases", json=body, headers=login(client, "citizen"))
    assert case.status_code == 201, case.text

    profiles.register_section(
        "test_risk", lambda p, kind, rid, rec, actor: {"score": 42}, kinds=("room",)
    )
    try:
        r = client.get("/api/v1/profiles/room/R1", headers=login(client, "street-ljz"))
    finally:
        profiles._SECTIONS.pop("test_risk", None)
    assert r.status_code == 200, r.text
    prof = r.json()
    assert prof["facts"]["area_m2"] == 30
    assert sorted(x["id"] for x in prof["residents"]) == ["P1", "P2", "P3"]
    assert [c["id"] for c in prof["cases"]] == [case.json()["id"]]
    assert prof["sections"]["test_risk"] == {"score": 42}
    person = client.get("/api/v1/profiles/person/P4", headers=login(client, "gridworker")).json()
    assert person["room"]["id"] == "R2"


def test_site_correction_is_reviewed_then_applied_with_history_and_ledger(
    client: TestClient, platform: Platform, flat: dict[str, Any]
) -> None:
    body = {"kind": "room", "record_id": "R1", "changes": {"observed_residents": 12}}
    bad = client.post(
        "/api/v1/registry/corrections",
        json={**body, "changes": {"area_m2": "big"}},
        headers=login(client, "gridworker"),
    )
    assert bad.status_code == 422 and bad.json()["field"] == "changes.area_m2"
    not_allowed = client.post(
        "/api/v1/registry/corrections",
        json={**body, "changes": {"id": "R9"}},
        headers=login(client, "gridworker"),
    )
    assert not_allowed.status_code == 422 and not_allowed.json()["rule"] == "correctable"
    made = client.post(
        "/api/v1/registry/corrections", json=body, headers=login(client, "gridworker")
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    assert service.get_room(platform, "R1")["observed_residents"] is None  # only proposed

    other = client.post(
        f"/api/v1/registry/corrections/{cid}/approve", json={}, headers=login(client, "street-hm")
    )
    assert other.status_code == 404
    ok = client.post(
        f"/api/v1/registry/corrections/{cid}/approve",
        json={"note": "核实属实"},
        headers=login(client, "street-ljz"),
    )
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    again = client.post(
        f"/api/v1/registry/corrections/{cid}/reject", json={}, headers=login(client, "street-ljz")
    )
    assert again.status_code == 409
    assert service.get_room(platform, "R1")["observed_residents"] == 12
    h = service.history_of(platform, "room", "R1")[-1]
    assert (h["change"], h["before"], h["after"]) == (
        "corrected",
        {"observed_residents": None},
        {"observed_residents": 12},
    )
    actions = [e.action for e in ledger.timeline(platform.db, "room", "R1")]
    assert actions[-2:] == ["registry.correction_proposed", "registry.corrected"]


def test_group_renting_alert_is_filed_once(
    client: TestClient, platform: Platform, flat: dict[str, Any]
) -> None:
    from civicloop.registry.group_renting import detect_group_renting

    # three registered in a flat of 30 m² with a limit of 3: within the limit
    assert detect_group_renting(platform) == []
    cid = client.post(
        "/api/v1/registry/corrections",
        json={"kind": "room", "record_id": "R1", "changes": {"observed_residents": 12}},
        headers=login(client, "gridworker"),
    ).json()["id"]
    client.post(
        f"/api/v1/registry/corrections/{cid}/approve", json={}, headers=login(client, "street-ljz")
    )
    run = client.post(
        "/api/v1/registry/group-renting/detect", json={}, headers=login(client, "admin")
    )
    assert run.status_code == 200, run.text
    [result] = run.json()["results"]
    assert (result["residents"], result["limit"], result["outcome"]) == (12, 3, "alerted")
    case = client.get(f"/api/v1/cases/{result['case_id']}", headers=login(client, "admin")).json()
    assert (case["element_code"], case["channel"]) == ("E0701", "data_rule")
    assert "王大明" not in case["description"]  # no names in an alert
    [again] = detect_group_renting(platform)
    assert again["outcome"] == "already_alerted" and again["case_id"] is None
    assert (
        client.post(
            "/api/v1/registry/group-renting/detect", json={}, headers=login(client, "street-ljz")
        ).status_code
        == 403
    )


def test_geocoder_asks_the_building_registry_first(
    platform: Platform, flat: dict[str, Any]
) -> None:
    from civicloop.intake.geocoder import geocode

    hit = geocode(platform, "我家在测试路1弄1号楼下，垃圾桶满了")
    assert hit is not None
    assert hit.precision == "point" and hit.confidence == 0.95
    assert hit.grid_code == platform.grids.locate(flat["lon"], flat["lat"])
    assert hit.matched.startswith("测试路1弄1号")
    assert service.match_address(platform, "测试路1弄1号101室")["room_id"] == "R1"


def test_elders_living_alone(platform: Platform, flat: dict[str, Any]) -> None:
    [elder] = service.elders_living_alone(platform)
    assert elder["person_id"] == "P4" and elder["room_id"] == "R2"
    assert elder["name"] != "陈阿婆" and elder["grid_code"]


def test_import_over_http_is_admin_only_and_all_or_nothing(
    client: TestClient, platform: Platform, tmp_path: Path
) -> None:
    lon, lat = point_in(platform, user_region(platform, "gridworker"))
    good = f"room_id,address,use,area_m2,lon,lat\nH1,{ROAD}2弄1号101室,住宅,50,{lon},{lat}\n"
    bad = good + f"H1,{ROAD}2弄1号102室,住宅,很大,{lon},{lat}\n"
    url = "/api/v1/registry/imports/rooms"
    admin = login(client, "admin")
    files = {"file": ("rooms.csv", bad.encode(), "text/csv")}
    assert client.post(url, files=files, headers=login(client, "street-ljz")).status_code == 403
    dry = client.post(url, files=files, headers=admin)
    assert dry.status_code == 200 and dry.json()["applied"] is False
    assert dry.json()["problem_list"] == [
        "row 3, column area_m2: 不是数字 '很大' / not a number [number]"
    ]
    refused = client.post(f"{url}?dry_run=false", files=files, headers=admin)
    assert refused.status_code == 422 and len(refused.json()["problems"]) == 1
    assert service.count_records(platform)["room"] == 0
    files = {"file": ("rooms.csv", good.encode(), "text/csv")}
    done = client.post(f"{url}?dry_run=false", files=files, headers=admin)
    assert done.status_code == 200 and done.json()["applied"] and done.json()["new"] == 1


def test_entity_and_building_profiles(
    client: TestClient, platform: Platform, flat: dict[str, Any], tmp_path: Path
) -> None:
    import random

    from civicloop.enterprise.demo import demo_credit_code

    code = demo_credit_code(random.Random(5))
    ent = _csv(
        tmp_path / "entities.csv",
        [
            ["统一社会信用代码", "企业名称", "法定代表人", "经营地址", "登记状态"],
            [code, "上海测试餐饮有限公司", "赵六", f"{ROAD}1弄1号", "存续"],
        ],
    )
    import_file(platform, "entities", ent)
    h = login(client, "enterprise")
    reg = {
        "credit_code": code,
        "name": "上海测试餐饮有限公司",
        "lon": flat["lon"],
        "lat": flat["lat"],
    }
    assert client.post("/api/v1/enterprise/register", json=reg, headers=h).status_code == 200
    demand = client.post(
        "/api/v1/enterprise/demands",
        json={"category": "policy", "text": "想了解今年的研发补贴怎么申报。"},
        headers=h,
    )
    assert demand.status_code in (200, 201), demand.text

    r = client.get(f"/api/v1/profiles/entity/{code}", headers=login(client, "operator"))
    assert r.status_code == 200, r.text
    prof = r.json()
    assert prof["facts"]["name"] == "上海测试餐饮有限公司"
    assert prof["facts"]["legal_representative"] != "赵六"  # masked for an operator
    assert prof["building"]["address"] == f"{ROAD}1弄1号"
    assert [d["id"] for d in prof["demands"]] == [demand.json()["id"]]
    b = client.get(
        f"/api/v1/profiles/building/{prof['building']['id']}", headers=login(client, "admin")
    ).json()
    assert (b["rooms"], b["residents"]) == (2, 4)
    assert [e["credit_code"] for e in b["entities"]] == [code]


def test_moving_a_person_by_correction_moves_their_grid(
    platform: Platform, flat: dict[str, Any]
) -> None:
    from civicloop.org import service as org
    from civicloop.registry.corrections import propose_correction, review_correction

    worker = org.actor_for_user(platform, "gridworker")
    admin = org.actor_for_user(platform, "street-ljz")
    c = propose_correction(platform, worker, "person", "P1", {"room_id": "R2"}, "已搬到隔壁")
    review_correction(platform, admin, c["id"], approve=True)
    person = service.get_person(platform, "P1")
    assert person["room_id"] == "R2"
    assert person["grid_code"] == service.get_room(platform, "R2")["grid_code"]
    with pytest.raises(Exception) as err:
        propose_correction(platform, worker, "person", "P1", {"room_id": "NOPE"})
    assert "not found" in str(err.value)


def test_address_matching_falls_back_to_the_gazetteer(
    client: TestClient, gazetteer: Platform, flat: dict[str, Any]
) -> None:
    h = login(client, "street-ljz")
    url = "/api/v1/registry/addresses/match"
    room = client.get(url, params={"q": f"{ROAD}1弄1号102室"}, headers=h).json()["match"]
    assert (room["precision"], room["room_id"], room["source"]) == ("room", "R2", "registry")
    road = client.get(url, params={"q": "张杨路1500号"}, headers=h).json()["match"]
    assert road["source"] == "gazetteer" and road["precision"] == "point" and road["grid_code"]
    none = client.get(url, params={"q": "火星路1号"}, headers=h).json()
    assert none["match"] is None and none["parts"]["road"] == "火星路"
