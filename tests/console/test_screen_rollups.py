"""The big screen's figures come from the evaluation rollups, not from the case list
(SQLite and PostgreSQL): its KPI cards equal ``/api/v1/kpi`` for the same period and the
viewer's own scope (district for the centre, their street for a street admin), its charts
are the rollups' sums, and the only case rows it reads are OPEN ones — closed cases are
never fetched, whatever their number."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from civicloop.core.clock import FrozenClock
from civicloop.runtime import Platform
from civicloop.web import screen
from tests.conftest import T0
from tests.evaluation.conftest import Scenario, scenario  # noqa: F401  (the fixture)
from tests.helpers import login

CARDS = screen.KPI_INDICATORS


def _kpi(client: TestClient, headers: dict[str, str], ind: str, period: str, **kw: str) -> Any:
    r = client.get(
        "/api/v1/kpi", params={"indicator": ind, "period": period, **kw}, headers=headers
    )
    assert r.status_code == 200, r.text
    return r.json()["items"][0]["value"] if r.json()["items"] else None


def test_screen_cards_equal_the_evaluation_api(
    client: TestClient,
    platform: Platform,
    clock: FrozenClock,
    scenario: Scenario,  # noqa: F811
) -> None:
    # back to the morning the four cases were reported (the fixture ran its clock 30 days on)
    clock.set(T0 + timedelta(hours=2))
    chief = login(client, "chief")
    data = client.get("/console/api/screen", headers=chief).json()
    kpi, period = data["kpi"], data["period"]["label"]
    assert kpi["source"] == "rollups" and data["scope"] == {"level": "district", "code": None}
    assert period == "2026-10-27..2026-11-25"
    for card, ind in CARDS.items():
        assert kpi[card] == _kpi(client, chief, ind, period), card
    # A closed on time and satisfied, B closed late, C voided, D waiting: known values
    assert kpi["closure_rate"] == round(2 / 3, 6)
    assert kpi["on_time_rate"] == round(1 / 3, 6)
    assert kpi["satisfaction_rate"] == 1.0
    assert kpi["proactive_rate"] == 0.0
    assert kpi["today_cases"] == 3 and kpi["total_cases"] == 3  # C was voided
    assert kpi["open_cases"] == 1 and [m["id"] for m in data["markers"]] == [scenario.ids["D"]]
    assert data["trend"]["days"][-1] == "2026-11-25"
    assert data["trend"]["reported"][-1] == 3 and data["trend"]["closed"][-1] == 2
    assert sum(r["count"] for r in data["by_street"]) == 3
    assert sum(r["count"] for r in data["by_scene"]) == 3
    assert [r["code"] for r in data["by_department"]] == [scenario.department]
    assert sum(data["density"].values()) == 3

    # a street admin sees their street, and the same numbers /api/v1/kpi gives for it
    h = login(client, "street-ljz")
    mine = client.get("/console/api/screen", headers=h).json()
    code = mine["scope"]["code"]
    assert mine["scope"]["level"] == "street" and code
    for card, ind in CARDS.items():
        assert mine["kpi"][card] == _kpi(client, h, ind, period, level="street", code=code)
    assert {r["code"] for r in mine["by_street"]} <= {code}
    expected = 3 if code == scenario.street else 0
    assert mine["kpi"]["total_cases"] == expected


def test_screen_reads_open_cases_only(
    client: TestClient,
    platform: Platform,
    clock: FrozenClock,
    scenario: Scenario,  # noqa: F811
) -> None:
    """Every statement that reads the cases table during a screen request filters on the
    open statuses and is bounded; closed cases A and B are never among the rows."""
    clock.set(T0 + timedelta(hours=2))
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        statements.append(sql)

    event.listen(platform.db.engine, "before_cursor_execute", seen)
    try:
        data = client.get("/console/api/screen", headers=login(client, "chief")).json()
    finally:
        event.remove(platform.db.engine, "before_cursor_execute", seen)
    reads = [s for s in statements if re.search(r"\bFROM cases\b", s)]
    assert reads, "the open cases are read from the cases table"
    for sql in reads:
        assert re.search(r"cases\.status IN", sql), sql
    rows = [s for s in reads if "count(" not in s.lower()]
    assert rows and all(re.search(r"\bLIMIT\b", s) for s in rows)
    ids = {m["id"] for m in data["markers"]}
    assert scenario.ids["A"] not in ids and scenario.ids["B"] not in ids
    assert all(m["status"] not in ("closed", "followed_up", "voided") for m in data["markers"])


def test_screen_markers_are_bounded(
    client: TestClient,
    platform: Platform,
    clock: FrozenClock,
    scenario: Scenario,  # noqa: F811
    monkeypatch: Any,
) -> None:
    clock.set(T0 + timedelta(hours=2))
    monkeypatch.setattr(screen, "MAX_MARKERS", 0)
    data = client.get("/console/api/screen", headers=login(client, "chief")).json()
    assert data["markers"] == [] and data["kpi"]["open_cases"] == 1
