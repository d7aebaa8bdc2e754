"""A case the risk context raised to high priority shows a 高风险 badge with its reason in the
dispatcher's queue of cases to handle (which lists those cases first) and on the case page."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import pytest

from tests.console.conftest import Server, as_user

pytestmark = pytest.mark.slow


def _high(server: Server) -> tuple[str, str, str]:
    """A new citizen report at the centre of a grid the risk context rates ``high`` (the
    demo scores grids): it is reported with priority high and its reason."""
    db = sqlite3.connect(server.data_dir / "civicloop.db")
    try:
        cols = {r[1] for r in db.execute("PRAGMA table_info(cases)")}
        if "priority" not in cols:
            pytest.skip("cases have no priority yet")
        row = db.execute(
            "SELECT r.centroid_lon, r.centroid_lat FROM risk_scores s JOIN regions r"
            " ON r.code = s.subject_id WHERE s.subject_kind = 'grid' AND s.band = 'high'"
            " AND r.centroid_lon IS NOT NULL ORDER BY s.score DESC LIMIT 1"
        ).fetchone()
    finally:
        db.close()
    if row is None:
        pytest.skip("the demo district has no high-risk grid")
    body = {
        "element_code": "E0101",
        "description": "高风险网格内垃圾堆积，气味很大（优先级徽标测试）",
        "lon": row[0],
        "lat": row[1],
        "channel": "app",
    }
    r = httpx.post(
        f"{server.url}/api/v1/cases",
        json=body,
        headers={"Authorization": f"Bearer {server.token('citizen')}"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    case = server.get(f"/api/v1/cases/{r.json()['id']}", "chief")
    assert case.get("priority") == "high", case.get("priority")
    return str(case["id"]), str(case["number"]), str(case.get("priority_reason") or "")


def test_high_risk_badge_in_the_queue_and_on_the_case_page(
    console_server: Server, console_page: Any
) -> None:
    case_id, number, reason = _high(console_server)
    page = console_page
    as_user(page, console_server, "dispatcher")
    page.goto(f"{console_server.url}/console/dispatch")
    row = page.locator(f"#wb-cases tr[data-number='{number}']")
    row.wait_for(timeout=30_000)
    badge = row.locator(".wb-risk")
    assert badge.inner_text() == "高风险"
    if reason:
        assert reason[:20] in row.inner_text()
    # high priority heads the list
    first = page.locator("#wb-cases tbody tr").first
    assert first.locator(".wb-risk").count() == 1

    page.goto(f"{console_server.url}/console/cases/{case_id}")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    assert page.locator("#case-badges .high-risk").inner_text() == "高风险"
    if reason:
        assert reason[:20] in page.locator("#case-badges").inner_text()
    assert page.console_errors == []
