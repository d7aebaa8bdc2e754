"""The key journey, end to end in a real browser against a real ``civicloop serve``.

A citizen reports a problem with a photo and a pin on their phone → the dispatcher confirms it
in the triage queue → the operator accepts it, the grid worker checks it on site, the operator
files it → the dispatcher dispatches it with an assisting department → the lead department
signs, notes progress, uploads evidence and reports the result → the grid worker verifies it →
the operator closes it → the citizen sees the closure on the public tracking page and rates it.

Each person uses their own browser context (their own device and session), every step is a
click on the real page, and the state is read back from the API after each step. Screenshots
of every step are kept in ``test-artifacts/journey-*.png``; no page may log a console error.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import ARTIFACTS, Server, login_as

pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """The machine is shared and busy: wait up to 15 s for a page to show a step (a real
    failure still fails, later), then put Playwright's default of 5 s back."""
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
LAPTOP = {"viewport": {"width": 1366, "height": 768}}
TEXT = "小区门口垃圾堆积三天无人清理，招来很多苍蝇，气味很大（浏览器旅程测试）"


def photo(path: Path, colour: tuple[int, int, int]) -> Path:
    """A small real JPEG (the server decodes every upload)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


def real_errors(errors: list[str], refused: tuple[int, ...] = ()) -> list[str]:
    """Console errors that are the pages' own. Chromium asks for /favicon.ico by itself (no
    page's error), and logs every 4xx answer as "Failed to load resource": a test that sends
    bad input on purpose names the statuses it expects in ``refused``."""
    expected = tuple(f"status of {s} " for s in refused)
    return [
        e
        for e in errors
        if "favicon.ico" not in e and not (expected and any(x in e for x in expected))
    ]


class Person:
    """One user's browser context: their own session, errors and numbered screenshots."""

    def __init__(self, chromium: Any, server: Server, username: str, device: dict[str, Any]):
        self.server = server
        self.username = username
        self.context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **device)
        self.page = self.context.new_page()
        self.errors: list[str] = []

        def on_console(msg: Any) -> None:
            if msg.type == "error":
                self.errors.append(f"{username}: {msg.text} @ {msg.location.get('url', '')}")

        self.page.on("console", on_console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"{username}: {exc}"))

    def token_login(self) -> None:
        tok = self.server.token(self.username)
        self.context.add_init_script(
            f"sessionStorage.setItem('civicloop.token', {json.dumps(tok)});"
        )

    def open(self, path: str) -> Any:
        self.page.goto(f"{self.server.url}{path}")
        self.page.wait_for_selector("body[data-ready]", timeout=20_000)
        return self.page

    def shot(self, n: int, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"journey-{n:02d}-{name}.png"), full_page=True)


@contextmanager
def people(chromium: Any, server: Server) -> Iterator[dict[str, Person]]:
    made: dict[str, Person] = {}

    class Lazy(dict[str, Person]):
        def __missing__(self, key: str) -> Person:
            name, _, kind = key.partition("@")
            person = Person(chromium, server, name, PHONE if kind == "phone" else LAPTOP)
            if name != "citizen":
                person.token_login()
            made[key] = person
            self[key] = person
            return person

    try:
        yield Lazy()
    finally:
        for p in made.values():
            p.context.close()


def quiet_spots(server: Server, n: int = 1) -> list[tuple[float, float]]:
    """``n`` points in the grid worker's community, 30 m apart, none within 25 m of an open
    rubbish (E0101) case: a report there is never a *certain* duplicate (≤ 20 m) of the demo's
    simulated month or of another test's report, so it files a case of its own."""
    me = server.get("/api/v1/me", "gridworker")
    community = [c for c in me["region_path"].split("/") if c][-1]
    grids = server.get(f"/api/v1/regions?level=grid&parent_code={community}", "gridworker")
    found: list[tuple[float, float]] = []
    step = 30 / 111_320.0  # degrees of latitude in 30 m (longitude alike, near enough here)
    for g in grids:
        lon0, lat0 = g["centroid"]
        for dx, dy in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1)):
            lon, lat = lon0 + dx * step, lat0 + dy * step
            near = server.get(f"/api/v1/nearby?lon={lon}&lat={lat}&radius_m=25&element_code=E0101")
            if not near["items"]:
                found.append((float(lon), float(lat)))
                if len(found) == n:
                    return found
    pytest.skip("no quiet place left in the grid worker's community")


def quiet_spot(server: Server) -> tuple[float, float]:
    return quiet_spots(server, 1)[0]


def case_as(server: Server, case_id: str, username: str = "operator") -> dict[str, Any]:
    return dict(server.get(f"/api/v1/cases/{case_id}", username))


def test_citizen_to_closure_and_rating(
    console_server: Server, chromium: Any, tmp_path: Path
) -> None:
    server = console_server
    lon, lat = quiet_spot(server)
    before = photo(tmp_path / "before.jpg", (120, 90, 40))
    after = photo(tmp_path / "after.jpg", (40, 160, 60))

    with people(chromium, server) as who:
        # 1. the citizen logs in on their phone and reports with text, a photo and a pin
        citizen = who["citizen@phone"]
        login_as(citizen.page, server, "citizen", next_path="/report")
        page = citizen.open("/report")
        expect(page.locator("#wb-map .leaflet-map-pane")).to_have_count(1)
        page.get_by_label("问题描述").fill(TEXT)
        page.locator("#wb-photos").set_input_files(str(before))
        page.get_by_label("经度").fill(f"{lon:.6f}")
        page.get_by_label("纬度").fill(f"{lat:.6f}")
        page.get_by_label("经度").dispatch_event("change")
        expect(page.locator("#wb-map .leaflet-marker-icon")).to_have_count(1)
        expect(page.locator("#wb-nearby")).to_contain_text("200")  # open problems near the pin
        page.locator("#wb-report button[type=submit]").click()
        expect(page.locator("#wb-report-done")).to_contain_text("已提交", timeout=30_000)
        waiting = page.locator("#wb-mine [data-report]").first  # newest first
        expect(waiting).to_contain_text("待工作人员确认")
        expect(waiting).to_contain_text("垃圾堆积三天")
        report_id = waiting.get_attribute("data-report")
        citizen.shot(1, "citizen-reported")
        report = server.get(f"/api/v1/intake/reports/{report_id}", "dispatcher")
        assert report["photos"] and report["given_lon"] == pytest.approx(lon, abs=1e-5)

        # 2. the dispatcher finds it in the queue, sees nearby cases on the map, confirms E0101
        dispatcher = who["dispatcher@laptop"]
        page = dispatcher.open("/console/dispatch")
        page.locator("#wb-queue-status").select_option(report["status"])
        card = page.locator(f"[data-report='{report_id}']")
        expect(card).to_contain_text("垃圾堆积")
        expect(card.locator("meter").first).to_be_visible()  # the classifier's confidence
        card.get_by_role("button", name="地图上看附近案件").click()
        expect(page.locator("#wb-map path.leaflet-interactive").first).to_be_visible()
        card.get_by_label("要素").select_option("E0101")
        dispatcher.shot(2, "dispatcher-queue")
        card.get_by_role("button", name="确认立案").click()
        expect(card).to_have_count(0)
        case_id = server.get(f"/api/v1/intake/reports/{report_id}", "dispatcher")["case_id"]
        assert case_id
        c = case_as(server, case_id)
        assert c["status"] == "reported" and c["element_code"] == "E0101"

        # 3. the operator accepts it (same workbench, the buttons the case allows)
        operator = who["operator@laptop"]
        page = operator.open("/console/dispatch")
        page.locator(f"tr[data-case='{case_id}'] button").click()
        page.locator("#wb-case [data-act=accept]").click()
        expect(page.locator("#wb-case")).to_contain_text("核实中")
        assert case_as(server, case_id)["status"] == "checking"

        # 4. the grid worker checks it on site, on a phone
        grid = who["gridworker@phone"]
        page = grid.open("/console/grid")
        task = page.locator(f"[data-case='{case_id}']")
        expect(task).to_contain_text("现场核实")
        task.get_by_label("现场情况").fill("现场确有垃圾堆积")
        grid.shot(4, "grid-check")
        task.locator("[data-act=pass]").click()
        expect(task).to_have_count(0)
        assert case_as(server, case_id)["status"] == "accepted"

        # 5. the operator files it
        page = operator.open("/console/dispatch")
        page.locator(f"tr[data-case='{case_id}'] button").click()
        page.locator("#wb-case [data-act=file]").click()
        expect(page.locator("#wb-case")).to_contain_text("已立案")

        # 6. the dispatcher dispatches it: the matrix's lead plus one assisting department
        page = dispatcher.open("/console/dispatch")
        page.locator(f"tr[data-case='{case_id}'] button").click()
        assists = page.locator("#wb-assists option")
        assist = assists.nth(0).get_attribute("value")
        if assist == "sanitation":
            assist = assists.nth(1).get_attribute("value")
        page.locator("#wb-assists").select_option([assist])
        dispatcher.shot(6, "dispatcher-dispatch")
        page.locator("#wb-case [data-act=dispatch]").click()
        expect(page.locator("#wb-case")).to_contain_text("已派遣")
        c = case_as(server, case_id)
        assert c["status"] == "dispatched"
        assert c["assignments"].get(assist) == "assist"
        lead = c["lead_department"]

        # 7. the lead department signs, notes progress, uploads evidence, reports the result
        handler = who[f"handler-{lead}@laptop"]
        page = handler.open("/console/department")
        page.locator(f"tr[data-case='{case_id}'] button").click()
        page.locator("#wb-case [data-act=sign]").click()
        expect(page.locator("#wb-case")).to_contain_text("处置中")
        page.locator("#wb-note").fill("已安排保洁车辆前往")
        page.locator("#wb-case [data-act=note]").click()
        expect(page.locator("#wb-case .wb-notes")).to_contain_text("已安排保洁车辆前往")
        page.locator("#wb-evidence").set_input_files(str(after))
        page.locator("#wb-evidence-text").fill("清运后照片")
        page.locator("#wb-case [data-act=evidence]").click()
        expect(page.locator("#wb-case .wb-notes")).to_contain_text("after.jpg")
        # both photos (the citizen's and the department's) are shown, fetched with the token
        thumbs = page.locator("#wb-case img.wb-thumb")
        expect(thumbs).to_have_count(2)
        page.wait_for_function(
            "() => [...document.querySelectorAll('#wb-case img.wb-thumb')]"
            ".every((i) => i.complete && i.naturalWidth === 64)"
        )
        page.locator("#wb-feedback").fill("垃圾已清运完毕，地面已冲洗")
        handler.shot(7, "department-handling")
        page.locator("#wb-case [data-act=feedback]").click()
        expect(page.locator("#wb-case")).to_contain_text("核查中")
        assert case_as(server, case_id)["status"] == "verifying"

        # 8. the grid worker verifies the result on site
        page = grid.open("/console/grid")
        task = page.locator(f"[data-case='{case_id}']")
        expect(task).to_contain_text("处置核查")
        task.get_by_label("现场情况").fill("已清理干净")
        task.locator("[data-act=pass]").click()
        expect(task).to_have_count(0)
        assert case_as(server, case_id)["status"] == "verified"

        # 9. the operator closes it
        page = operator.open("/console/dispatch")
        page.locator(f"tr[data-case='{case_id}'] button").click()
        page.locator("#wb-case [data-act=close]").click()
        expect(page.locator("#wb-case")).to_contain_text("已结案")

        # 10. the citizen follows it by tracking code and sees the closure and the reply
        page = citizen.open("/report")
        matter = page.locator(f"[data-case='{case_id}']")
        expect(matter).to_contain_text("已结案")
        code = matter.locator("a.wb-code").inner_text()
        matter.locator("a.wb-code").click()
        page.wait_for_url(f"**/track?code={code}")
        body = page.locator("body")
        expect(body).to_contain_text("已结案")
        expect(body).to_contain_text("垃圾已清运完毕")
        citizen.shot(10, "citizen-tracks-closure")

        # 11. and rates it
        page = citizen.open("/report")
        matter = page.locator(f"[data-case='{case_id}']")
        matter.get_by_label("满意", exact=True).check()
        matter.get_by_label("意见（可选）").fill("处理很及时")
        matter.locator("[data-act=rate]").click()
        expect(matter).to_contain_text("您的评价")
        citizen.shot(11, "citizen-rated")
        c = case_as(server, case_id)
        assert c["status"] == "followed_up" and c["satisfaction"] == "satisfied"

        errors = [e for p in who.values() for e in real_errors(p.errors)]
        assert errors == []
