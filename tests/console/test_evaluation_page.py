"""The evaluation page over the evaluation context's API: the month's indicators, rankings
that drill into an object's dashboard, the cases behind a figure, and a download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import Server, as_user

pytestmark = pytest.mark.slow


def test_evaluation_dashboard_rankings_drilldown_and_download(
    console_server: Server, console_page: Any
) -> None:
    page = console_page
    as_user(page, console_server, "chief")
    page.goto(f"{console_server.url}/console/evaluation")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    rows = page.locator("#dashboard tbody tr")
    assert rows.count() >= 10
    closure = page.locator("#dashboard tr[data-indicator=closure_rate]")
    assert closure.locator("td").first.inner_text().endswith("%")
    # the trend chart holds the month's days
    days = page.evaluate("() => window.__evaluation.chart.getOption().xAxis[0].data.length")
    assert days >= 1
    ranking = page.locator("#rankings tbody tr")
    assert ranking.count() >= 1
    first = ranking.first.locator("button")
    name = first.inner_text()
    first.click()
    page.wait_for_function(
        "(n) => document.getElementById('dash-scope').textContent.includes(n)", arg=name
    )
    # the cases behind the closure rate of that street, each a link to its case page
    page.locator("#dashboard tr[data-indicator=closure_rate] button", has_text="明细").click()
    page.wait_for_selector("#drill:not([hidden])")
    links = page.locator("#drill-cases a")
    if links.count():
        assert links.first.get_attribute("href").startswith("/console/cases/")
    with page.expect_download() as got:
        page.get_by_role("button", name="排名 CSV").click()
    download = got.value
    assert download.suggested_filename.startswith("ranking-street-")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert text.count("\n") >= 2
    assert page.console_errors == []
