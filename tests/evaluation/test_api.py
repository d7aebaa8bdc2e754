"""The KPI API as the console uses it: scopes, drill-down, exports, report, reviews, errors."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from civicloop.evaluation import report as rep
from civicloop.runtime import Platform
from tests.evaluation.conftest import Scenario
from tests.helpers import login

MONTH = "2026-11"


def test_operations_centre_reads_district_numbers(client: TestClient, scenario: Scenario) -> None:
    h = login(client, "supervisor")
    r = client.get(f"/api/v1/kpi?indicator=closure_rate&period={MONTH}", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["items"][0]["numerator"] == 2 and body["items"][0]["denominator"] == 3
    assert body["indicator"]["name_zh"] == "结案率"
    r = client.get(f"/api/v1/kpi?indicator=closure_rate&period={MONTH}&level=street", headers=h)
    assert [i["code"] for i in r.json()["items"]] == [scenario.street]
    dash = client.get(f"/api/v1/kpi/dashboard?period={MONTH}", headers=h).json()
    assert {i["code"] for i in dash["indicators"]} >= {"closure_rate", "on_time_closure"}
    assert client.get("/api/v1/kpi/indicators", headers=h).status_code == 200


def test_a_street_sees_its_territory_only(
    client: TestClient, platform: Platform, scenario: Scenario
) -> None:
    mine = login(client, "street-ljz")
    other = login(client, "street-hm")
    url = f"/api/v1/kpi?indicator=closure_rate&period={MONTH}&level=street&code={scenario.street}"
    assert client.get(url, headers=mine).status_code == 200
    assert client.get(url, headers=other).status_code == 403
    assert (
        client.get(f"/api/v1/kpi?indicator=closure_rate&period={MONTH}", headers=mine).status_code
        == 403
    )
    listed = client.get(
        f"/api/v1/kpi?indicator=closure_rate&period={MONTH}&level=street", headers=other
    ).json()
    assert listed["items"] == []  # the other street has no cases, and sees no one else's
    cases_url = f"/api/v1/kpi/closure_rate/cases?period={MONTH}&level=street&code={scenario.street}"
    got = client.get(cases_url, headers=mine)
    assert got.status_code == 200 and got.json()["total"] == 2
    assert client.get(cases_url, headers=other).status_code == 403
    # the comparison shows the district as a reference, to the street too
    cmp = client.get(
        f"/api/v1/kpi/compare?indicator=closure_rate&period={MONTH}&level=street"
        f"&code={scenario.street}",
        headers=mine,
    ).json()
    assert cmp["district"]["denominator"] == 3 and cmp["versus_district"] == 0


def test_a_department_sees_its_own_numbers(client: TestClient, scenario: Scenario) -> None:
    from civicloop.catalogue.model import Element  # noqa: F401  (documents the handler naming)

    h = login(client, f"handler-{scenario.department}")
    url = f"/api/v1/kpi?indicator=on_time_disposal&period={MONTH}&level=department"
    r = client.get(url + f"&code={scenario.department}", headers=h)
    assert r.status_code == 200 and r.json()["items"][0]["denominator"] == 2
    assert client.get(url + "&code=nosuchdept", headers=h).status_code == 403
    assert [i["code"] for i in client.get(url, headers=h).json()["items"]] == [scenario.department]


def test_citizens_see_no_kpis(client: TestClient, scenario: Scenario) -> None:
    h = login(client, "citizen")
    assert (
        client.get(f"/api/v1/kpi?indicator=closure_rate&period={MONTH}", headers=h).status_code
        == 403
    )
    assert client.get(f"/api/v1/kpi?indicator=closure_rate&period={MONTH}").status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("indicator=nosuch&period=2026-11", "indicator"),
        ("indicator=closure_rate&period=2026-13", "period"),
        ("indicator=closure_rate&period=2026-11&level=planet", "level"),
        ("indicator=closure_rate&period=2026-11&level=person&code=x", "level"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(
    client: TestClient, scenario: Scenario, query: str, field: str
) -> None:
    r = client.get(f"/api/v1/kpi?{query}", headers=login(client, "supervisor"))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field


def test_exports_open_in_a_spreadsheet(client: TestClient, scenario: Scenario) -> None:
    h = login(client, "supervisor")
    r = client.get(
        f"/api/v1/kpi/export?kind=values&indicator=closure_rate&level=street&period={MONTH}"
        "&format=xlsx",
        headers=h,
    )
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "对象 (code)" and rows[1][0] == scenario.street
    assert rows[1][2] == 2 and rows[1][3] == 3
    r = client.get(
        f"/api/v1/kpi/export?kind=rankings&composite=street&period={MONTH}&format=csv", headers=h
    )
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("排名 (rank)") and scenario.street in text
    r = client.get(
        f"/api/v1/kpi/closure_rate/cases?period={MONTH}&part=denominator&format=xlsx", headers=h
    )
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None and ws.max_row == 4  # header + the three cases to close


def test_monthly_report_html_and_pdf(client: TestClient, scenario: Scenario) -> None:
    h = login(client, "supervisor")
    r = client.get(f"/api/v1/kpi/report?month={MONTH}", headers=h)
    assert r.status_code == 200
    assert "月度效能评价报告" in r.text and "<svg" in r.text and "结案率" in r.text
    r = client.get(f"/api/v1/kpi/report?month={MONTH}&format=pdf", headers=h)
    if rep.find_font() is None:
        assert r.status_code == 503
    else:
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
    bad = client.get("/api/v1/kpi/report?month=2026-11-01", headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "month"


def test_supervisors_review_feeds_the_composite(client: TestClient, scenario: Scenario) -> None:
    body = {"period": MONTH, "level": "street", "code": scenario.street, "score": 40}
    assert (
        client.post("/api/v1/kpi/reviews", json=body, headers=login(client, "operator")).status_code
        == 403
    )
    h = login(client, "supervisor")
    r = client.post("/api/v1/kpi/reviews", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert (
        client.post("/api/v1/kpi/reviews", json={**body, "score": 101}, headers=h).status_code
        == 422
    )
    items = client.get(f"/api/v1/kpi/rankings?period={MONTH}&composite=street", headers=h).json()
    parts = {p["code"]: p["score"] for p in items["items"][0]["parts"]}
    assert parts["review"] == 40
