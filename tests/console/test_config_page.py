"""The configuration page: a broken discovery rule is refused with the problem pointed at its
line; an admin saves a valid file (traced in the ledger); an auditor cannot save."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.conftest import Server, as_user

pytestmark = pytest.mark.slow


def test_rule_errors_are_shown_at_their_line_and_a_valid_file_saves(
    console_server: Server, console_page: Any
) -> None:
    page = console_page
    as_user(page, console_server, "admin")
    page.goto(f"{console_server.url}/console/config")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.get_by_label("配置文件").select_option(label="预警规则 / city.yaml")
    area = page.get_by_label("内容（YAML）")
    # wait for city.yaml itself: the file shown before the selection also holds "rules:"
    page.wait_for_function(
        "() => document.getElementById('config-text').value.includes('tiltAngle >= 15')"
    )
    original = area.input_value()
    area.fill(original.replace("tiltAngle >= 15", "tiltAngle >= = 15"))
    page.get_by_role("button", name="校验").click()
    # the server validates every rule of the file: allow for a busy machine, and say what the
    # page showed if no problem came back
    page.wait_for_function(
        "() => document.querySelector('#problems li') !== null"
        " || document.getElementById('config-status').className === 'error'",
        timeout=60_000,
    )
    problem = page.locator("#problems li").first
    assert problem.count() == 1 or page.locator("#problems li").count() > 1, page.locator(
        "#config-status"
    ).inner_text()
    assert "rules[3].when" in problem.inner_text()
    assert page.locator("#config-text").get_attribute("aria-invalid") == "true"
    problem.get_by_role("button").click()
    selected = page.evaluate(
        "() => { const a = document.getElementById('config-text');"
        " return a.value.slice(a.selectionStart, a.selectionEnd); }"
    )
    assert "tiltAngle >= = 15" in selected
    # saving the broken text is refused and nothing changes
    page.get_by_role("button", name="保存并生效").click()
    page.wait_for_function("() => document.getElementById('config-status').className === 'error'")
    area.fill(original)
    page.get_by_role("button", name="保存并生效").click()
    page.wait_for_function("() => document.getElementById('config-status').className === 'ok'")
    assert (console_server.data_dir / "rules" / "city.yaml").read_text(encoding="utf-8") == original
    errors = [e for e in page.console_errors if "422" not in e]
    assert errors == []


def test_auditor_validates_but_cannot_save(console_server: Server, console_page: Any) -> None:
    page = console_page
    as_user(page, console_server, "auditor")
    page.goto(f"{console_server.url}/console/config")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    assert not page.get_by_role("button", name="保存并生效").is_visible()
    page.get_by_role("button", name="校验").click()
    page.wait_for_function("() => document.getElementById('config-status').className === 'ok'")
    assert page.console_errors == []


def test_admin_edits_a_catalogue_element_in_the_browser(
    console_server: Server, console_page: Any
) -> None:
    """A broken deadline is shown at its line; a renamed element saves as a local catalogue
    with a new version and the catalogue API answers the new name (then the packaged catalogue
    is restored, through the page, for the other tests sharing this server)."""
    page = console_page
    as_user(page, console_server, "admin")
    page.goto(f"{console_server.url}/console/config")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    version = page.locator("#catalogue-summary").get_attribute("data-version")
    page.get_by_label("配置文件").select_option(label="治理目录 / 12-urban-events-01-03.yaml")
    page.wait_for_function(
        "() => document.getElementById('config-text').value.includes('name: 暴露垃圾')"
    )
    area = page.get_by_label("内容（YAML）")
    original = area.input_value()
    broken = original.replace("deadline: work_2h}", "deadline: work_2x}", 1)
    area.fill(broken)
    page.get_by_role("button", name="校验").click()
    problem = page.locator("#problems li").first
    problem.wait_for()
    assert "work_2x" in problem.inner_text()
    problem.get_by_role("button").click()
    selected = page.evaluate(
        "() => { const a = document.getElementById('config-text');"
        " return a.value.slice(a.selectionStart, a.selectionEnd); }"
    )
    assert "work_2x" in selected
    # saving the broken catalogue is refused in place; nothing is written
    page.get_by_role("button", name="保存并生效").click()
    page.wait_for_function("() => document.getElementById('config-status').className === 'error'")
    assert not (console_server.data_dir / "catalogue").exists()
    # a good edit: the element's name and a deadline
    edited = original.replace("name: 暴露垃圾", "name: 暴露垃圾（浏览器）", 1).replace(
        "deadline: work_2h}", "deadline: work_4h}", 1
    )
    area.fill(edited)
    page.get_by_role("button", name="保存并生效").click()
    page.wait_for_function("() => document.getElementById('config-status').className === 'ok'")
    try:
        page.wait_for_function(
            "(v) => document.getElementById('catalogue-summary').dataset.version !== v", arg=version
        )
        got = console_server.get("/api/v1/catalogue/elements/E0101", "admin")
        assert got["name"] == "暴露垃圾（浏览器）"
        assert got["filing_conditions"][0]["deadline"] == "work_4h"
        assert console_server.get("/api/v1/catalogue", "admin")["version"] != version
        assert (console_server.data_dir / "catalogue" / "12-urban-events-01-03.yaml").is_file()
        page.once("dialog", lambda d: d.accept())
        page.get_by_role("button", name="恢复内置目录").click()
        page.wait_for_function(
            "(v) => document.getElementById('catalogue-summary').dataset.version === v", arg=version
        )
    finally:
        if (console_server.data_dir / "catalogue").exists():
            import httpx

            httpx.post(
                f"{console_server.url}/console/api/config/catalogue/restore",
                headers={"Authorization": f"Bearer {console_server.token('admin')}"},
                timeout=30,
            )
    assert console_server.get("/api/v1/catalogue/elements/E0101", "admin")["name"] == "暴露垃圾"
    errors = [e for e in page.console_errors if "422" not in e]
    assert errors == []
