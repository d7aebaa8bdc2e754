"""A real Open311 client not written by us drives a running ``civicloop serve``.

The client is the PyPI ``open311`` 1.1 package (Code for America), ported to Python 3
mechanically in ``tests/open311/pypi_open311`` (its changes are listed there). It is used in
its default XML mode, the only one that works with it (reference §2.5): discovery → services →
service definition → post a request → token → request id → list requests → one request, over
real HTTP against a server started as a subprocess on a free port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from civicloop.core.settings import Settings
from civicloop.runtime import Platform
from tests.open311.pypi_open311 import Open311

JURISDICTION = "pudong.sh.gov.cn"


def _env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "CIVICLOOP_SWEEP_INTERVAL_SECONDS": "0"}
    if settings.database_url:
        env["CIVICLOOP_DATABASE_URL"] = settings.database_url
    return env


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "civicloop.cli", *args, "--data-dir", str(settings.data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(settings),
    )


@pytest.fixture
def server(settings: Settings, platform: Platform) -> Iterator[tuple[str, str]]:
    """(endpoint, api key) of a ``civicloop serve`` on the test's seeded database."""
    made = _cli(settings, "apikey", "create", "--name", "pypi-open311")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = Path(settings.data_dir) / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "civicloop.cli",
                "serve",
                "--data-dir",
                str(settings.data_dir),
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(settings),
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(log.read_text(errors="replace")) from None
                time.sleep(0.2)
        # no trailing slash: post_service_request() does not strip it (call_api() does)
        yield f"http://127.0.0.1:{port}/open311/v2", key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _one(value: Any) -> dict[str, Any]:
    """xml2dict gives a dict for one repeated child and a list for several."""
    return value[0] if isinstance(value, list) else value


# ~10-20 s: two fresh interpreters (the apikey command and the server) import the whole app.
@pytest.mark.slow
def test_the_pypi_open311_client_files_and_follows_a_request(
    server: tuple[str, str], where: tuple[float, float]
) -> None:
    endpoint, key = server
    # The endpoint goes to the constructor: configure() afterwards would not reach the GETs.
    client = Open311(endpoint=endpoint, api_key=key, jurisdiction=JURISDICTION)
    assert client.output_format == "xml"

    found = client.call_api("discovery.xml")["discovery"]
    endpoint_info = _one(found["endpoints"]["endpoint"])
    assert endpoint_info["url"].endswith("/open311/v2")
    assert set(endpoint_info["formats"]["format"]) == {"text/xml", "application/json"}

    services = client.service_list()
    assert isinstance(services, list) and len(services) >= 5
    manhole = next(s for s in services if s["service_name"] == "上水井盖")
    assert manhole["metadata"] == "true" and manhole["type"] == "realtime"

    definition = client.service_definition(manhole["service_code"])["service_definition"]
    assert definition["service_code"] == manhole["service_code"]
    attrs = {a["code"]: a for a in definition["attributes"]["attribute"]}
    condition = attrs["FILING_CONDITION"]
    assert condition["datatype"] == "singlevaluelist"
    keys = [v["key"] for v in condition["values"]["value"]]
    assert "01" in keys

    lon, lat = where
    posted = client.post_service_request(
        service_code=manhole["service_code"],
        lat=f"{lat:.6f}",
        long=f"{lon:.6f}",
        address_string="张杨路近浦东南路",
        first_name="三",
        last_name="张",
        phone="13812345678",
        email="zhangsan@example.cn",
        description="人行道上的自来水井盖缺失，很危险，电话13812345678",
        media_url="https://img.example.cn/manhole.jpg",
        **{"attribute[FILING_CONDITION]": keys[0]},
    )
    made = posted["service_requests"]["request"]
    number, token = made["service_request_id"], made["token"]
    assert number.startswith(manhole["service_code"][0]) and token
    assert made["service_notice"].startswith("处置时限")

    by_token = client.request_id_from_token(token)
    assert by_token["service_request_id"] == number

    listed = client.service_requests()
    mine = _one(listed)
    assert mine["service_request_id"] == number
    assert mine["status"] == "open"
    assert mine["media_url"] == "https://img.example.cn/manhole.jpg"

    one = client.get_service_request(number)["service_requests"]["request"]
    assert one["service_code"] == manhole["service_code"]
    assert one["address"] == "张杨路近浦东南路"
    assert one["requested_datetime"].endswith("+08:00")
    text = str(one) + str(listed)
    # the public view never carries the reporter's name, phone or e-mail
    assert "13812345678" not in text and "zhangsan" not in text and "张三" not in text
    assert "138****5678" in one["description"]

    # a bad post gets the spec's error body; the client raises on the HTTP status
    with pytest.raises(urllib.error.HTTPError) as bad:
        client.post_service_request(service_code="NOPE", lat=str(lat), long=str(lon))
    assert bad.value.code == 404
    assert b"<errors><error><code>404</code>" in bad.value.read()
