"""Every console page at a 1366×768 laptop and at a phone (390×844, touch), in Debian's
Chromium over the demo district: no horizontal overflow, the page's main heading and its
primary action visible inside the viewport's width, no console errors; the primary action
reached by Tab with a visible focus ring; every visible form control labelled (found again
with ``page.get_by_label``). A full-page screenshot of each page at each size is kept in
``test-artifacts/`` (``test_layout-<page>-<viewport>.png``)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import pytest

from tests.console.conftest import Server, as_user

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Page:
    path: str  # may hold {case} / {enterprise}
    user: str | None  # None: a public page
    ready: str  # the selector that says the page has drawn its data
    primary: str  # the page's primary action (first match)


READY = "body[data-ready='1']"
ROLE_READY = "body[data-ready]:not([data-ready='wrong-role'])"
PAGES = {
    "login": Page("/login", None, "#login-form", "#login-form button[type=submit]"),
    "screen": Page("/console/screen", "chief", READY, "#map"),
    "dispatcher": Page("/console/dispatch", "dispatcher", ROLE_READY, "#wb-refresh"),
    "department": Page("/console/department", "handler-street", ROLE_READY, "#wb-refresh"),
    "grid": Page("/console/grid", "gridworker", ROLE_READY, "#wb-patrol button[type=submit]"),
    "case": Page("/console/cases/{case}", "chief", READY, "#actions button, #case-map"),
    "report": Page("/report", "citizen", ROLE_READY, "#wb-report button[type=submit]"),
    "track": Page("/track?code={tracking}", None, "form", "form button[type=submit]"),
    "enterprise": Page("/enterprise", "enterprise", ROLE_READY, "form .wb-primary"),
    "evaluation": Page("/console/evaluation", "chief", READY, "button[type=submit].primary"),
    "profile": Page("/console/profiles/enterprise/{enterprise}", "chief", READY, "#profile-map"),
    "config": Page("/console/config", "admin", READY, "#validate"),
}
VIEWPORTS = {
    "laptop": {"viewport": {"width": 1366, "height": 768}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}

GEOMETRY = """(sel) => {
  const el = document.querySelector(sel);
  const se = document.scrollingElement;
  const r = el ? el.getBoundingClientRect() : null;
  return { scrollWidth: se.scrollWidth, innerWidth: window.innerWidth,
           box: r && { left: r.left, right: r.right, width: r.width, height: r.height } };
}"""

FOCUS_RING = """() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
  const shadow = s.boxShadow && s.boxShadow !== "none";
  return outline || shadow;
}"""

BEYOND = """() => {
  // visible controls whose box reaches past the right edge (clipped in a scroll box or not)
  const out = [];
  for (const el of document.querySelectorAll(
      "main button, main a[href], main input, main select, main textarea")) {
    if (el.closest(".leaflet-container") || !el.getClientRects().length) continue;
    const s = getComputedStyle(el);
    if (s.visibility === "hidden") continue;
    const r = el.getBoundingClientRect();
    const what = el.id || el.textContent.trim().slice(0, 20);
    if (r.width && r.right > window.innerWidth + 1) out.push(`${el.tagName} ${what} ${r.right}`);
  }
  return out.slice(0, 5);
}"""

UNLABELLED = """() => {
  const out = [];
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (["hidden", "submit", "button", "reset"].includes(el.type)) continue;
    if (!el.getClientRects().length) continue;  // not shown
    const named = (el.labels && el.labels.length && el.labels[0].textContent.trim())
      || el.getAttribute("aria-label")
      || (el.getAttribute("aria-labelledby") || "").split(/\\s+/)
           .map((id) => document.getElementById(id)?.textContent.trim()).join(" ").trim();
    out.push({ id: el.id, name: el.name, label: named || "" });
  }
  return out;
}"""


@pytest.fixture(scope="module")
def ids(console_server: Server) -> dict[str, str]:
    """A case the chief may open (an open one, with actions) and an enterprise in the demo's
    registry, read from the running server's database."""
    db = sqlite3.connect(console_server.data_dir / "civicloop.db")
    try:
        case_id, tracking = db.execute(
            "SELECT id, tracking_code FROM cases WHERE status IN ('reported', 'accepted', 'filed')"
            " ORDER BY reported_at DESC LIMIT 1"
        ).fetchone()
        row = db.execute("SELECT credit_code FROM registry_entities LIMIT 1").fetchone()
    finally:
        db.close()
    if row is None:
        pytest.skip("the demo registry has no enterprise")
    return {"case": case_id, "tracking": tracking or "", "enterprise": row[0]}


@pytest.fixture(params=sorted(VIEWPORTS))
def sized_page(chromium: Any, request: pytest.FixtureRequest) -> Any:
    from tests.console.conftest import _page

    yield from _page(chromium, request, **VIEWPORTS[request.param])


def _inside(geo: dict[str, Any]) -> bool:
    box = geo["box"]
    return bool(box) and box["left"] >= -1 and box["right"] <= geo["innerWidth"] + 1


@pytest.mark.parametrize("name", sorted(PAGES))
def test_layout(console_server: Server, sized_page: Any, ids: dict[str, str], name: str) -> None:
    page, spec = sized_page, PAGES[name]
    if spec.user:
        as_user(page, console_server, spec.user)
    page.goto(console_server.url + spec.path.format(**ids))
    page.wait_for_selector(spec.ready, state="attached", timeout=30_000)
    page.wait_for_load_state("networkidle", timeout=30_000)

    geo = page.evaluate(GEOMETRY, "h1")
    # a phone browser widens its layout viewport to fit content that is too wide, so the
    # width asked for (not innerWidth) is the measure
    width = page.viewport_size["width"]
    assert geo["innerWidth"] == width, f"{name}: the page widened the viewport {geo}"
    assert geo["scrollWidth"] <= width + 1, f"{name}: overflows sideways {geo}"
    heading = page.locator("h1").first
    assert heading.is_visible() and _inside(geo), f"{name}: heading {geo}"

    primary = page.locator(f"{spec.primary} >> visible=true").first
    primary.scroll_into_view_if_needed()
    assert primary.is_visible(), f"{name}: primary action hidden"
    sel = _selector_of(page, primary)
    pgeo = page.evaluate(GEOMETRY, sel)
    assert _inside(pgeo), f"{name}: primary action outside the viewport {pgeo}"

    beyond = page.evaluate(BEYOND)
    assert beyond == [], f"{name}: controls past the right edge {beyond}"

    # keyboard: Tab from the top reaches the primary action, with a visible focus ring
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    reached = False
    for _ in range(80):
        page.keyboard.press("Tab")
        if primary.evaluate("(el) => el === document.activeElement"):
            reached = True
            break
    assert reached, f"{name}: Tab never reached {spec.primary}"
    assert page.evaluate(FOCUS_RING), f"{name}: no visible focus ring on the primary action"

    # every visible control has a label, and get_by_label finds it by that label
    controls = page.evaluate(UNLABELLED)
    assert all(c["label"] for c in controls), f"{name}: unlabelled {controls}"
    for c in controls:
        assert page.get_by_label(c["label"], exact=True).count() >= 1, (name, c)

    errors = [e for e in page.console_errors if "favicon" not in e]
    assert errors == [], errors


def _selector_of(page: Any, locator: Any) -> str:
    """A unique CSS selector for a located element (marks it with a data attribute)."""
    locator.evaluate("(el) => el.setAttribute('data-layout-probe', '1')")
    return "[data-layout-probe='1']"
