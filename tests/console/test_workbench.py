"""The workbenches and portals in a real browser: each page's own work, errors shown in place,
English, a phone's viewport, labels on every control.

Set-up goes through the API (fast, and the same path the pages use); what is under test is
always done by clicking the real page. The journey across all roles is ``test_journey.py``.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import Server, as_user
from tests.console.test_journey import (  # noqa: F401 (patient_expect: an autouse fixture)
    patient_expect,
    photo,
    quiet_spot,
    quiet_spots,
    real_errors,
)

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.sync_api").expect


def call(server: Server, username: str, method: str, path: str, body: Any = None) -> Any:
    req = urllib.request.Request(
        f"{server.url}/api/v1{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {server.token(username)}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
    return json.loads(raw) if raw else None


def dispatched_case(server: Server, text: str) -> dict[str, Any]:
    """A citizen's E0101 report walked (over the API) to ``dispatched``."""
    lon, lat = quiet_spot(server)
    c = call(
        server,
        "citizen",
        "POST",
        "/cases",
        {"element_code": "E0101", "description": text, "lon": lon, "lat": lat},
    )
    cid = c["id"]
    call(server, "operator", "POST", f"/cases/{cid}/accept", {})
    call(server, "gridworker", "POST", f"/cases/{cid}/check", {"is_valid": True})
    call(server, "operator", "POST", f"/cases/{cid}/file", {})
    return dict(call(server, "dispatcher", "POST", f"/cases/{cid}/dispatch", {}))


def ready(page: Any, server: Server, path: str) -> Any:
    page.goto(f"{server.url}{path}")
    page.wait_for_selector("body[data-ready]", timeout=20_000)
    return page


def unlabelled(page: Any) -> list[str]:
    """Visible form controls that no label, aria-label or aria-labelledby names."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('#main input, #main select, #main textarea')]
              .filter((el) => el.offsetParent !== null && el.type !== 'radio')
              .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                              && !el.getAttribute('aria-labelledby'))
              .map((el) => el.outerHTML.slice(0, 80))"""
        )
    )


def test_dispatch_rejects_in_place_and_reads_in_english(
    console_server: Server, console_page: Any
) -> None:
    server = console_server
    lon, lat = quiet_spot(server)
    r = call(
        server,
        "citizen",
        "POST",
        "/intake/reports",
        {
            "text": "这里有个东西不太对劲<img src=x onerror=alert(1)>，麻烦看看",
            "lon": lon,
            "lat": lat,
        },
    )
    as_user(console_page, server, "dispatcher")
    page = ready(console_page, server, "/console/dispatch?lang=en")
    expect(page.locator("h1")).to_have_text("Dispatcher workbench")
    page.locator("#wb-queue-status").select_option(r["status"])
    # the change reloads the queue and redraws its cards: wait for that before focusing one
    page.wait_for_load_state("networkidle")
    card = page.locator(f"[data-report='{r['id']}']")
    expect(card).to_contain_text("Confirm")
    # what people typed is shown as text, never parsed as HTML
    expect(card.locator(".wb-text")).to_contain_text("<img src=x onerror=alert(1)>")
    expect(card.locator("img")).to_have_count(0)
    # an empty reason is refused by the API; the problem is shown inside the card, named
    card.locator("[data-act=reject]").click()
    expect(card.locator(".wb-error[role=alert]")).to_contain_text("reason")
    card.get_by_label("Reason to reject").fill("not a city problem")
    card.locator("[data-act=reject]").click()
    expect(card).to_have_count(0)
    assert call(server, "dispatcher", "GET", f"/intake/reports/{r['id']}")["status"] == "rejected"
    # the overdue list is filled from the demo's backlog, and a row opens the case
    assert int(page.locator("#wb-overdue-count").inner_text()) > 0
    page.locator("#wb-overdue tbody tr button").first.click()
    expect(page.locator("#wb-case h3")).to_be_visible()
    assert unlabelled(page) == []
    assert real_errors(console_page.console_errors, refused=(422,)) == []


def test_dispatcher_corrects_the_element_with_the_keyboard(
    console_server: Server, console_page: Any
) -> None:
    server = console_server
    lon, lat = quiet_spot(server)
    r = call(
        server,
        "citizen",
        "POST",
        "/intake/reports",
        {"text": "人行道上的井盖松动了，踩上去会晃", "lon": lon, "lat": lat},
    )
    top = r["proposal"]["suggestions"][0]["element_code"]
    other = "C0102" if top != "C0102" else "C0101"
    as_user(console_page, server, "dispatcher")
    page = ready(console_page, server, "/console/dispatch")
    page.locator("#wb-queue-status").select_option(r["status"])
    # the change reloads the queue and redraws its cards: wait for that before focusing one
    page.wait_for_load_state("networkidle")
    card = page.locator(f"[data-report='{r['id']}']")
    select = card.get_by_label("要素")
    expect(select).to_have_value(top)  # preset to the classifier's first suggestion
    select.focus()
    select.select_option(other)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.act") == "confirm"
    page.keyboard.press("Enter")
    expect(card).to_have_count(0)
    expect(page.locator("#flash")).to_contain_text("已更正并确认")
    report = call(server, "dispatcher", "GET", f"/intake/reports/{r['id']}")
    assert report["status"] == "confirmed"
    assert call(server, "dispatcher", "GET", f"/cases/{report['case_id']}")["element_code"] == other
    assert real_errors(console_page.console_errors) == []


def test_a_page_of_another_role_says_whose_it_is(console_server: Server, console_page: Any) -> None:
    as_user(console_page, console_server, "citizen")
    page = ready(console_page, console_server, "/console/department")
    expect(page.locator("#wb-main [role=alert]")).to_contain_text("部门处置人员")
    assert page.evaluate("document.body.dataset.ready") == "wrong-role"
    assert real_errors(console_page.console_errors) == []


def test_department_returns_then_asks_for_time_which_the_dispatcher_grants(
    console_server: Server, chromium: Any, console_page: Any
) -> None:
    server = console_server
    c = dispatched_case(server, "单元门口垃圾桶满溢，垃圾堆到路上（部门工作台测试）")
    handler = f"handler-{c['lead_department']}"
    as_user(console_page, server, handler)
    page = ready(console_page, server, "/console/department")
    page.locator(f"tr[data-case='{c['id']}'] button").click()
    # return without a reason: refused, the message shown next to the buttons
    page.locator("#wb-case [data-act=return]").click()
    expect(page.locator("#wb-case .wb-error")).to_be_visible()
    page.locator("#wb-return-reason").fill("不属于本单位职责范围")
    page.locator("#wb-case [data-act=return]").click()
    expect(page.locator("#wb-case")).to_contain_text("已退单")
    # re-dispatched to the same lead, which signs and asks for more time
    call(server, "dispatcher", "POST", f"/cases/{c['id']}/dispatch", {})
    page.locator("#wb-refresh").click()
    page.locator(f"tr[data-case='{c['id']}'] button").click()
    page.locator("#wb-case [data-act=sign]").click()
    expect(page.locator("#wb-case")).to_contain_text("处置中")
    page.locator("#wb-ext-reason").fill("需要调配大型清运车辆")
    page.locator("#wb-ext-hours").fill("12")
    page.locator("#wb-case [data-act=extension]").click()
    expect(page.locator("#wb-case")).to_contain_text("待审批")
    assert unlabelled(page) == []
    assert real_errors(console_page.console_errors, refused=(422,)) == []

    context = chromium.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    try:
        dispatcher = context.new_page()
        as_user(dispatcher, server, "dispatcher")
        # a link to one case (from the case page or the big screen) opens it in the panel
        ready(dispatcher, server, f"/console/dispatch#case={c['id']}")
        expect(dispatcher.locator("#wb-case")).to_contain_text("延期申请")
        dispatcher.get_by_role("button", name="批准延期").click()
        expect(dispatcher.locator("#wb-case")).not_to_contain_text("批准延期")
    finally:
        context.close()
    detail = call(server, "dispatcher", "GET", f"/cases/{c['id']}")
    assert [x["status"] for x in detail["extensions"]] == ["approved"]
    assert detail["extension_count"] == 1


def test_grid_worker_patrols_by_phone_with_gps_or_typed_position(
    console_server: Server, chromium: Any, tmp_path: Path
) -> None:
    server = console_server
    (lon, lat), (lon2, lat2) = quiet_spots(server, 2)
    snap = photo(tmp_path / "patrol.jpg", (200, 200, 40))
    denied = chromium.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    granted = chromium.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": lon2, "latitude": lat2, "accuracy": 12},
        permissions=["geolocation"],
    )
    try:
        # no permission: the page says so, and the typed position is what is sent
        page = denied.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        as_user(page, server, "gridworker")
        ready(page, server, "/console/grid")
        page.locator("#wb-gps").click()
        expect(page.locator("#wb-gps-status")).to_contain_text("手动")
        page.get_by_label("问题类型").select_option("E0101")
        page.get_by_label("问题描述").fill("巡查发现绿化带内堆放建筑垃圾（手动定位）")
        page.get_by_label("照片（1–5 张）").set_input_files(str(snap))
        page.get_by_label("经度").fill(f"{lon:.6f}")
        page.get_by_label("纬度").fill(f"{lat:.6f}")
        page.locator("#wb-patrol button[type=submit]").click()
        expect(page.locator("#flash")).to_contain_text("已上报")
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 390, "the grid worker's page scrolls sideways on a phone"
        assert unlabelled(page) == []
        assert errors == []

        # with permission: the phone's position fills the fields
        page = granted.new_page()
        as_user(page, server, "gridworker")
        ready(page, server, "/console/grid")
        page.locator("#wb-gps").click()
        expect(page.locator("#wb-gps-status")).to_contain_text("已定位")
        assert float(page.get_by_label("经度").input_value()) == pytest.approx(lon2, abs=1e-5)
        page.get_by_label("问题类型").select_option("E0101")
        page.get_by_label("问题描述").fill("巡查发现路边垃圾堆放（GPS 定位）")
        page.get_by_label("照片（1–5 张）").set_input_files(str(snap))
        page.locator("#wb-patrol button[type=submit]").click()
        expect(page.locator("#flash")).to_contain_text("已上报")
    finally:
        denied.close()
        granted.close()
    mine = call(server, "gridworker", "GET", "/cases?channel=patrol&limit=50")["items"]
    texts = {c["description"] for c in mine}
    assert "巡查发现绿化带内堆放建筑垃圾（手动定位）" in texts
    assert "巡查发现路边垃圾堆放（GPS 定位）" in texts


def test_enterprise_files_a_demand_and_follows_it(
    console_server: Server, console_page: Any
) -> None:
    server = console_server
    as_user(console_page, server, "enterprise")
    page = ready(console_page, server, "/enterprise")
    expect(page.locator("#wb-ent .wb-code")).to_have_text(
        call(server, "enterprise", "GET", "/enterprise/me")["credit_code"]
    )
    page.get_by_label("诉求类别").select_option("policy")
    page.get_by_label("诉求内容").fill("想咨询今年高新技术企业认定的申报条件和时间安排")
    page.locator("#wb-demand button[type=submit]").click()
    expect(page.locator("#flash")).to_contain_text("已提交")
    first = page.locator("#wb-demands article").first
    expect(first).to_contain_text("高新技术企业认定")
    code = first.locator("a.wb-code").inner_text()
    assert (
        call(server, "enterprise", "GET", "/enterprise/demands?limit=5")["items"][0][
            "tracking_code"
        ]
        == code
    )
    # an empty demand is refused by the server and the reason is shown by the form
    page.locator("#wb-demand button[type=submit]").click()
    expect(page.locator("#wb-demand-errs .wb-error")).to_be_visible()
    assert unlabelled(page) == []
    assert real_errors(console_page.console_errors, refused=(422,)) == []


def test_citizen_page_on_a_phone_says_not_fixed(console_server: Server, phone_page: Any) -> None:
    server = console_server
    c = dispatched_case(server, "楼下垃圾房周围垃圾散落一地（未解决测试）")
    handler = f"handler-{c['lead_department']}"
    cid = c["id"]
    call(server, handler, "POST", f"/cases/{cid}/sign", {})
    call(server, handler, "POST", f"/cases/{cid}/feedback", {"text": "已清理"})
    call(server, "gridworker", "POST", f"/cases/{cid}/verify", {"passed": True})
    call(server, "operator", "POST", f"/cases/{cid}/close", {})
    as_user(phone_page, server, "citizen")
    page = ready(phone_page, server, "/report")
    matter = page.locator(f"[data-case='{cid}']")
    expect(matter).to_contain_text("已结案")
    matter.get_by_label("问题仍未解决？请说明").fill("第二天又堆满了")
    matter.locator("[data-act=not-fixed]").click()
    expect(page.locator("#flash")).to_contain_text("重新处置")
    assert call(server, "citizen", "GET", f"/cases/{cid}")["status"] not in ("closed",)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    assert unlabelled(page) == []
    assert real_errors(phone_page.console_errors) == []


def test_shift_chief_supervises_and_the_department_sees_the_order(
    console_server: Server, chromium: Any, console_page: Any
) -> None:
    server = console_server
    c = dispatched_case(server, "路口垃圾桶旁垃圾成堆，反映多次未处理（督办测试）")
    as_user(console_page, server, "chief")
    page = ready(console_page, server, f"/console/dispatch#case={c['id']}")
    page.locator("#wb-supervise-reason").fill("群众多次反映，请限期处置")
    page.locator("#wb-supervise-hours").fill("8")
    page.locator("#wb-case [data-act=supervise]").click()
    expect(page.locator("#flash")).to_contain_text("督办")
    orders = call(server, "chief", "GET", f"/cases/{c['id']}")["supervision_orders"]
    assert [o["reason"] for o in orders] == ["群众多次反映，请限期处置"]
    assert real_errors(console_page.console_errors) == []

    context = chromium.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    try:
        handler = context.new_page()
        as_user(handler, server, f"handler-{c['lead_department']}")
        ready(handler, server, "/console/department")
        expect(handler.locator("#wb-orders")).to_contain_text("群众多次反映，请限期处置")
        handler.locator("#wb-orders li", has_text="群众多次反映").locator("button").click()
        expect(handler.locator("#wb-case")).to_contain_text("督办单")
    finally:
        context.close()
