"""The case page in a real browser: facts, the ledger timeline with who did what, deadlines,
the map, a photo fetched with the viewer's token, and the API's allowed actions as forms —
one that succeeds (a progress note joins the timeline) and one refused with the error shown
next to its field."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.console.conftest import Server, as_user

pytestmark = pytest.mark.slow


def _first(server: Server, username: str, status: str) -> dict[str, Any]:
    page = server.get(f"/api/v1/cases?status={status}&limit=1", username)
    assert page["items"], f"the demo district has a {status} case"
    return dict(page["items"][0])


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buf, "JPEG")
    return buf.getvalue()


def test_case_page_shows_timeline_deadlines_map_and_photo(
    console_server: Server, console_page: Any
) -> None:
    case = _first(console_server, "operator", "handling")
    r = httpx.post(
        f"{console_server.url}/api/v1/cases/{case['id']}/evidence",
        headers={"Authorization": f"Bearer {console_server.token('operator')}"},
        files={"file": ("scene.jpg", _jpeg(), "image/jpeg")},
        data={"text": "现场照片"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    page = console_page
    as_user(page, console_server, "chief")
    page.goto(f"{console_server.url}/console/cases/{case['id']}")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    assert case["number"] in page.locator("h1").inner_text()
    timeline = page.locator("#timeline li")
    assert timeline.count() >= 3
    assert "上报" in timeline.first.inner_text()
    assert page.locator("#steps tbody tr").count() >= 3
    assert page.locator("#case-map canvas, #case-map svg path").count() >= 1
    img = page.locator("#photos img")
    img.first.wait_for()
    assert page.evaluate("(el) => el.naturalWidth", img.first.element_handle()) == 64
    assert page.console_errors == []


def test_actions_follow_the_api_and_errors_show_in_place(
    console_server: Server, console_page: Any
) -> None:
    case = _first(console_server, "chief", "dispatched")
    page = console_page
    as_user(page, console_server, "chief")
    page.goto(f"{console_server.url}/console/cases/{case['id']}")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    before = page.locator("#timeline li").count()
    # the chief may add a note and supervise here, not close
    assert page.locator("form[data-action=note]").count() == 1
    assert page.locator("form[data-action=close]").count() == 0
    page.get_by_text("添加进展", exact=True).first.click()
    page.locator("form[data-action=note] textarea").fill("已电话联系部门，预计今日处置完毕")
    page.locator("form[data-action=note] button").click()
    page.wait_for_function(f"() => document.querySelectorAll('#timeline li').length > {before}")
    assert "处置进展" in page.locator("#timeline li").last.inner_text()

    reported = _first(console_server, "chief", "reported")
    page.goto(f"{console_server.url}/console/cases/{reported['id']}")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.get_by_text("作废", exact=True).first.click()
    page.locator("form[data-action=void] textarea").fill("   ")
    page.locator("form[data-action=void] button").click()
    reason = page.locator("form[data-action=void] textarea")
    page.wait_for_function(
        "() => document.querySelector('form[data-action=void] textarea').classList.contains('invalid')"
    )
    assert reason.get_attribute("aria-invalid") == "true"
    message = page.locator("form[data-action=void] .field-error").first.inner_text()
    assert "reason" in message or "理由" in message
    # a refused request is a 422 in the console; nothing else may have gone wrong
    assert all("422" in e for e in page.console_errors), page.console_errors
