"""Browser fixtures: a real ``civicloop`` server over the demo district, and Debian's Chromium.

Why a real server in a subprocess: the pages are driven the way people use them — a browser
over HTTP against ``civicloop serve`` with the demo district and its persona users — not a
test client. The district is generated once per session (``civicloop demo --no-serve``, ~15 s)
into a temporary data directory; the server runs on a free port.

Fixtures (the workbench and journey tests use them too):

- ``console_server`` (session): a :class:`Server` with ``url``, ``data_dir`` and
  ``token(username)`` (a bearer token for API set-up calls).
- ``chromium`` (session): a Playwright ``Browser`` on ``/usr/bin/chromium`` (never
  ``playwright install``); the tests skip cleanly when the binary or playwright is absent.
- ``console_page``: a fresh context and page (1366×768, zh-CN) whose console errors and page
  errors are collected in ``page.console_errors`` (a list attribute set by the fixture); a
  screenshot is saved as ``test-artifacts/<test name>.png`` at teardown.
- ``phone_page``: the same at a phone's size (390×844, touch).
- ``login_as(page, server, username)``: logs in through the login form (the real page).
- ``as_user(page, server, username)``: puts a token in sessionStorage before any page loads
  (fast; for tests that are not about logging in).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DEMO_PASSWORD = "civicloop-demo-2026"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run against a live server on a shared 2-core machine: a step that waits
    on the server under heavy load may time out once. Each browser test gets one rerun
    (pytest-rerunfailures); a test that fails twice fails the run."""
    for item in items:
        if item.nodeid.replace("\\", "/").startswith("tests/console/"):
            item.add_marker(pytest.mark.flaky(reruns=1))


@dataclass
class Server:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]

    def token(self, username: str) -> str:
        body = json.dumps({"username": username, "password": DEMO_PASSWORD}).encode()
        req = urllib.request.Request(
            f"{self.url}/api/v1/auth/login",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return str(json.loads(r.read())["access_token"])

    def get(self, path: str, username: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token(username)}"} if username else {}
        req = urllib.request.Request(f"{self.url}{path}", headers=headers)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _civicloop() -> list[str]:
    exe = shutil.which("civicloop")
    return [exe] if exe else [sys.executable, "-m", "civicloop.cli"]


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("console-demo")
    env = {**os.environ, "CIVICLOOP_DATA_DIR": str(data_dir)}
    env.pop("CIVICLOOP_DATABASE_URL", None)  # the browser suite runs on the embedded SQLite
    subprocess.run(
        [*_civicloop(), "demo", "--data-dir", str(data_dir), "--no-serve"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )
    # the evaluation context's numbers come from its ledger consumer; fill them once (the
    # command is skipped quietly where the kpi group does not exist)
    subprocess.run(
        [*_civicloop(), "kpi", "consume", "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    port = _free_port()
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [*_civicloop(), "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"civicloop serve did not start; see {data_dir / 'server.log'}")
        time.sleep(0.2)
    yield Server(url=url, data_dir=data_dir, process=proc)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


def _page(chromium: Any, request: pytest.FixtureRequest, **context_args: Any) -> Iterator[Any]:
    context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **context_args)
    page = context.new_page()
    errors: list[str] = []

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            errors.append(f"console: {msg.text} @ {msg.location.get('url', '')}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.console_errors = errors
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    # a crashed page still lets the test report its own failure
    with contextlib.suppress(Exception):
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def console_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from _page(chromium, request, viewport={"width": 1366, "height": 768})


@pytest.fixture
def phone_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from _page(
        chromium,
        request,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )


def login_as(page: Any, server: Server, username: str, next_path: str = "") -> None:
    """Log in through the login form; waits until the browser has left the login page."""
    target = f"{server.url}/login" + (f"?next={next_path}" if next_path else "")
    page.goto(target)
    page.get_by_label("用户名").or_(page.get_by_label("Username")).fill(username)
    page.get_by_label("密码").or_(page.get_by_label("Password")).fill(DEMO_PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_url(lambda u: "/login" not in u, timeout=15_000)


def as_user(page: Any, server: Server, username: str) -> None:
    """Start the page's session already logged in as ``username`` (sessionStorage token)."""
    tok = server.token(username)
    page.add_init_script(f"sessionStorage.setItem('civicloop.token', {json.dumps(tok)});")
