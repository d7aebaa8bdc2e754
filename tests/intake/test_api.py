"""Free-text intake over HTTP: report → proposal → confirm (or reject) → a real case.

The demo personas of the seeded test district act: ``operator`` records 12345 calls,
``citizen`` reports from the app, ``auditor`` reads the queue with contacts masked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civicloop.core.clock import FrozenClock
from civicloop.intake import store as intake_store
from civicloop.ledger.store import ledger_entries
from civicloop.runtime import Platform
from tests.helpers import login, point_in, user_region

B = "/api/v1/intake"
HOTLINE = "张杨路1500号门口垃圾堆了三天没人清理，气味很大"


@pytest.fixture
def gz_client(gazetteer_platform: Platform, client: TestClient) -> TestClient:
    return client


def _ledger(p: Platform, target_id: str) -> list[str]:
    with p.db.read() as conn:
        q = select(ledger_entries.c.action).where(ledger_entries.c.target_id == target_id)
        return [r.action for r in conn.execute(q.order_by(ledger_entries.c.seq))]


def _report_count(p: Platform) -> int:
    with p.db.read() as conn:
        return int(
            conn.execute(select(func.count()).select_from(intake_store.intake_reports)).scalar()
            or 0
        )


def _hotline(client: TestClient, text: str = HOTLINE, **extra: Any) -> dict[str, Any]:
    body = {"text": text, "contact_name": "李女士", "contact_phone": "13912345678", **extra}
    r = client.post(f"{B}/reports", json=body, headers=login(client, "operator"))
    assert r.status_code == 201, r.text
    return r.json()


def test_hotline_call_to_case(gz_client: TestClient, gazetteer_platform: Platform) -> None:
    p, client = gazetteer_platform, gz_client
    report = _hotline(client)
    assert report["channel"] == "hotline"
    assert report["status"] in ("proposed", "triage")
    location = report["proposal"]["location"]
    assert location["precision"] == "point" and location["source"] == "text"
    assert location["matched"] == "张杨路1500号"
    assert location["grid_code"] == p.grids.locate(location["lon"], location["lat"])
    op = login(client, "operator")
    queue = client.get(f"{B}/queue", params={"status": report["status"]}, headers=op).json()
    assert report["id"] in [i["id"] for i in queue["items"]]

    r = client.post(
        f"{B}/reports/{report['id']}/confirm", json={"element_code": "E0101"}, headers=op
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "confirmed" and done["case_id"] == done["case"]["id"]
    case = client.get(f"/api/v1/cases/{done['case_id']}", headers=op).json()
    assert case["element_code"] == "E0101"
    assert case["grid_code"] == location["grid_code"]
    assert case["channel"] == "hotline" and case["status"] == "reported"
    assert (case["reporter_name"], case["reporter_phone"]) == ("李女士", "13912345678")
    assert case["address"] == "张杨路1500号"
    assert _ledger(p, report["id"]) == ["intake.reported", "intake.confirmed"]
    assert "case.reported" in _ledger(p, case["id"])
    # decided once: a second confirmation or a rejection is refused
    again = client.post(f"{B}/reports/{report['id']}/confirm", json={}, headers=op)
    assert again.status_code == 409 and again.json()["code"] == "intake.already_decided"
    assert (
        client.post(
            f"{B}/reports/{report['id']}/reject", json={"reason": "重复"}, headers=op
        ).status_code
        == 409
    )
    assert report["id"] not in [
        i["id"] for i in client.get(f"{B}/queue", headers=op).json()["items"]
    ]


def test_citizen_report_with_position_becomes_their_case(
    gz_client: TestClient, gazetteer_platform: Platform
) -> None:
    p, client = gazetteer_platform, gz_client
    lon, lat = point_in(p, user_region(p, "gridworker"))
    cit = login(client, "citizen")
    r = client.post(
        f"{B}/reports", json={"text": "楼下路灯坏了好几天了", "lon": lon, "lat": lat}, headers=cit
    )
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["channel"] == "app"
    assert report["proposal"]["location"]["source"] == "given"
    assert report["proposal"]["location"]["grid_code"] == p.grids.locate(lon, lat)
    assert client.get(f"{B}/reports/{report['id']}", headers=cit).status_code == 200
    assert (
        client.get(f"{B}/reports/{report['id']}", headers=login(client, "citizen2")).status_code
        == 404
    )
    op = login(client, "operator")
    r = client.post(
        f"{B}/reports/{report['id']}/confirm",
        json={"element_code": "E0101", "title": "路灯不亮"},
        headers=op,
    )
    assert r.status_code == 200, r.text
    case_id = r.json()["case_id"]
    mine = client.get(f"/api/v1/cases/{case_id}", headers=cit)
    assert mine.status_code == 200  # the citizen is the case's reporter and follows it
    assert mine.json()["title"] == "路灯不亮" and mine.json()["grid_code"] == p.grids.locate(
        lon, lat
    )


def test_operator_corrects_the_place(gz_client: TestClient, gazetteer_platform: Platform) -> None:
    p, client = gazetteer_platform, gz_client
    report = _hotline(client, "世纪大道上好几盏路灯不亮")
    lon, lat = point_in(p, user_region(p, "gridworker2"))
    op = login(client, "operator")
    r = client.post(
        f"{B}/reports/{report['id']}/confirm",
        json={"element_code": "E0101", "lon": lon, "lat": lat},
        headers=op,
    )
    assert r.status_code == 200, r.text
    assert r.json()["case"]["grid_code"] == p.grids.locate(lon, lat)


def test_low_confidence_goes_to_triage(
    gz_client: TestClient, gazetteer_platform: Platform, clock: FrozenClock
) -> None:
    client = gz_client
    vague = _hotline(client, "世纪大道上好几盏路灯不亮")  # a road without a number
    clock.advance(timedelta(minutes=1))
    assert vague["status"] == "triage"
    assert "location_confidence" in vague["proposal"]["triage_reasons"]
    assert vague["proposal"]["location"]["precision"] == "road"
    nowhere = _hotline(client, "我要投诉，他们态度很差")
    assert nowhere["status"] == "triage" and nowhere["proposal"]["location"] is None
    op = login(client, "operator")
    triage = client.get(f"{B}/queue", params={"status": "triage"}, headers=op).json()
    ids = [i["id"] for i in triage["items"]]
    assert ids.index(nowhere["id"]) < ids.index(vague["id"])  # newest first
    assert triage["total"] >= 2
    page = client.get(f"{B}/queue", params={"status": "triage", "limit": 1}, headers=op).json()
    assert len(page["items"]) == 1 and page["total"] == triage["total"]
    proposed = client.get(f"{B}/queue", params={"status": "proposed"}, headers=op).json()
    assert vague["id"] not in [i["id"] for i in proposed["items"]]
    # no place anywhere: confirming needs one
    r = client.post(
        f"{B}/reports/{nowhere['id']}/confirm", json={"element_code": "E0101"}, headers=op
    )
    assert r.status_code == 422 and r.json()["field"] == "lon"


def test_reject_with_reason(gz_client: TestClient, gazetteer_platform: Platform) -> None:
    client = gz_client
    report = _hotline(client, "咨询一下社保怎么办理")
    op = login(client, "operator")
    r = client.post(f"{B}/reports/{report['id']}/reject", json={"reason": ""}, headers=op)
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = client.post(
        f"{B}/reports/{report['id']}/reject",
        json={"reason": "非城运事项，已转社保热线"},
        headers=op,
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert _ledger(gazetteer_platform, report["id"]) == ["intake.reported", "intake.rejected"]


def test_auth_and_roles(gz_client: TestClient, gazetteer_platform: Platform) -> None:
    client = gz_client
    assert client.post(f"{B}/reports", json={"text": HOTLINE}).status_code == 401
    assert client.get(f"{B}/queue").status_code == 401
    handler = login(client, "handler-cgzf")
    assert client.post(f"{B}/reports", json={"text": HOTLINE}, headers=handler).status_code == 403
    assert client.get(f"{B}/queue", headers=handler).status_code == 403
    cit = login(client, "citizen")
    assert client.get(f"{B}/queue", headers=cit).status_code == 403
    report = _hotline(client)
    assert client.get(f"{B}/reports/{report['id']}", headers=cit).status_code == 404  # not theirs
    assert (
        client.post(f"{B}/reports/{report['id']}/confirm", json={}, headers=cit).status_code == 403
    )
    auditor = login(client, "auditor")
    assert (
        client.post(
            f"{B}/reports/{report['id']}/reject", json={"reason": "x"}, headers=auditor
        ).status_code
        == 403
    )
    # the auditor may read the queue, with the caller's contact and typed-in numbers masked
    typed = _hotline(client, "张杨路1500号有人堆物，我电话13812345678")
    seen = {
        i["id"]: i
        for i in client.get(
            f"{B}/queue", params={"status": typed["status"]}, headers=auditor
        ).json()["items"]
    }
    assert seen[typed["id"]]["contact_phone"] == "139****5678"
    assert seen[typed["id"]]["contact_name"] is None
    assert "13812345678" not in seen[typed["id"]]["text"]
    op_view = client.get(f"{B}/reports/{typed['id']}", headers=login(client, "operator")).json()
    assert op_view["contact_phone"] == "13912345678" and "13812345678" in op_view["text"]
    # a grid worker's territory does not make them a queue worker
    assert client.get(f"{B}/queue", headers=login(client, "gridworker")).status_code == 403


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"text": ""}, "text", "required"),
        ({"text": "   "}, "text", "required"),
        ({"text": "垃圾\u0000堆积"}, "text", "no_control_characters"),
        ({"text": "路灯坏了" * 2000}, "text", "max_length"),
        ({"text": HOTLINE, "lon": 116.39, "lat": 39.9}, "lon", "inside_district"),
        ({"text": HOTLINE, "lon": 121.5}, "lat", "required_together"),
        ({"text": HOTLINE, "lon": 500, "lat": 31.2}, "lon", "less_than_equal"),
        ({"text": HOTLINE, "contact_phone": "call me"}, "contact_phone", "phone"),
        ({"text": HOTLINE, "channel": "fax"}, "channel", "literal_error"),
        ({"text": HOTLINE, "colour": "red"}, "colour", "extra_forbidden"),
    ],
)
def test_bad_report_input_names_the_field(
    gz_client: TestClient, gazetteer_platform: Platform, body: dict[str, Any], field: str, rule: str
) -> None:
    before = _report_count(gazetteer_platform)
    r = gz_client.post(f"{B}/reports", json=body, headers=login(gz_client, "operator"))
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["field"] == field and problem["rule"] == rule
    assert r.headers["content-type"].startswith("application/problem+json")
    assert _report_count(gazetteer_platform) == before


def test_citizen_cannot_claim_the_hotline(gz_client: TestClient) -> None:
    r = gz_client.post(
        f"{B}/reports",
        json={"text": HOTLINE, "channel": "hotline"},
        headers=login(gz_client, "citizen"),
    )
    assert r.status_code == 422 and r.json()["field"] == "channel"


def test_bad_confirmations(gz_client: TestClient, gazetteer_platform: Platform) -> None:
    client = gz_client
    op = login(client, "operator")
    assert client.post(f"{B}/reports/nope/confirm", json={}, headers=op).status_code == 404
    report = _hotline(client)
    for body, field in (
        ({"element_code": "X9999"}, "element_code"),
        ({"element_code": "E0101", "lon": 116.39, "lat": 39.9}, "lon"),
        ({"element_code": "E0101", "grid_code": "999"}, "grid_code"),
    ):
        r = client.post(f"{B}/reports/{report['id']}/confirm", json=body, headers=op)
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert (
        client.get(f"{B}/reports/{report['id']}", headers=op).json()["status"] == report["status"]
    )


def test_geocode_endpoint(gz_client: TestClient) -> None:
    h = login(gz_client, "operator")
    r = gz_client.get(f"{B}/geocode", params={"q": "金桥新村12号楼"}, headers=h)
    assert r.status_code == 200 and r.json()["precision"] == "compound"
    assert gz_client.get(f"{B}/geocode", params={"q": "没有地点"}, headers=h).json() is None
    assert gz_client.get(f"{B}/geocode", params={"q": "金桥新村"}).status_code == 401


def test_confident_proposal_is_confirmed_in_one_step(
    gz_client: TestClient, gazetteer_platform: Platform
) -> None:
    p, client = gazetteer_platform, gz_client
    report = _hotline(client, "金桥新村12号楼下水管爆了，水漫到路上")
    proposal = report["proposal"]
    assert proposal["suggestions"] and proposal["model_version"]
    top = proposal["suggestions"][0]
    assert top["element_code"] == "E0402"  # 自来水管爆裂
    assert proposal["location"]["precision"] == "compound"
    threshold = p.settings.triage_confidence
    sure = top["confidence"] >= threshold and proposal["location"]["confidence"] >= threshold
    assert report["status"] == ("proposed" if sure else "triage")
    r = client.post(f"{B}/reports/{report['id']}/confirm", headers=login(client, "operator"))
    assert r.status_code == 200, r.text
    case = r.json()["case"]
    assert case["element_code"] == "E0402"
    assert case["grid_code"] == proposal["location"]["grid_code"]
    assert _corrections(p) == []


def _corrections(p: Platform) -> list[dict[str, Any]]:
    from civicloop.nlp.store import classifier_corrections

    with p.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(classifier_corrections))]


def test_operator_correction_is_stored_for_the_classifier(
    gz_client: TestClient, gazetteer_platform: Platform
) -> None:
    p, client = gazetteer_platform, gz_client
    text = "张杨路与浦东南路交叉口红绿灯坏了"
    report = _hotline(client, text)
    top = report["proposal"]["suggestions"][0]["element_code"]
    chosen = "C0201" if top != "C0201" else "C0202"
    op = login(client, "operator")
    r = client.post(
        f"{B}/reports/{report['id']}/confirm", json={"element_code": chosen}, headers=op
    )
    assert r.status_code == 200, r.text
    assert r.json()["case"]["element_code"] == chosen
    rows = _corrections(p)
    assert len(rows) == 1
    assert (rows[0]["text"], rows[0]["predicted_label"], rows[0]["chosen_label"]) == (
        text,
        top,
        chosen,
    )
    assert rows[0]["model_version"] == report["proposal"]["model_version"]
    with p.db.read() as conn:
        after = conn.execute(
            select(ledger_entries.c.after).where(
                ledger_entries.c.action == "intake.confirmed",
                ledger_entries.c.target_id == report["id"],
            )
        ).scalar_one()
    assert after["is_corrected"] is True and after["element_code"] == chosen


def test_a_failing_classifier_loses_no_report(gazetteer_platform: Platform) -> None:
    """A broken model setting: the report is still stored, in triage, with the failure noted."""
    from dataclasses import replace

    from civicloop.intake.service import submit_report
    from civicloop.org.service import actor_for_user

    broken = Platform.open(
        replace(gazetteer_platform.settings, nlp_model="/nonexistent/model"),
        clock=gazetteer_platform.clock,
    )
    try:
        row = submit_report(broken, actor_for_user(broken, "operator"), text=HOTLINE)
    finally:
        broken.close()
    assert row["status"] == "triage"
    assert row["proposal"]["suggestions"] == []
    assert any(x.startswith("classifier:") for x in row["proposal"]["problems"])
    assert row["proposal"]["location"]["precision"] == "point"  # the geocoder still worked
    assert _report_count(gazetteer_platform) == 1
