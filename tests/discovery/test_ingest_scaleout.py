"""Ingestion over real brokers: Redis Streams (receiver queues, worker stores and XACKs after
the commit, a dead worker's messages are claimed) and MQTT (mosquitto; acknowledged after the
commit). Each test spawns its own server on a free port and skips when the binary is absent."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from civicloop.discovery import service, streams
from civicloop.runtime import Platform
from tests.discovery.test_ingest import entity, gateway_key, notification, register, stored


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


@pytest.fixture
def redis_url() -> Iterator[str]:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def mosquitto_port() -> Iterator[int]:
    # Debian installs the broker in /usr/sbin, which is not always on a user's PATH.
    exe = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if exe is None:
        pytest.skip("mosquitto is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_port(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _body(device: str, *minutes: int) -> dict[str, Any]:
    return notification(
        *[
            entity(device, "WasteContainer", f"2026-11-25T01:{m:02d}:00Z", fillingLevel=m / 100)
            for m in minutes
        ],
        nid=f"urn:n:{device}:{minutes[0]}",
    )


def test_receiver_queues_and_worker_stores(
    platform: Platform, client: TestClient, redis_url: str
) -> None:
    register(platform, "bin-s", "WasteContainer")
    platform.settings.extra["redis_url"] = redis_url
    key = gateway_key(platform)
    r = client.post("/ngsi-ld/notify", json=_body("bin-s", 1, 2), headers=key)
    assert r.status_code == 202 and r.json()["queued"] == 2
    bad = client.post("/ngsi-ld/notify", content=b"{oops", headers=key)
    assert bad.status_code == 400  # envelopes are checked before queueing
    assert stored(platform) == []
    client.post("/ngsi-ld/notify", json=_body("bin-s", 2, 3), headers=key)
    worker = streams.Worker(platform, "w1", url=redis_url, block_ms=100)
    stats = worker.run(max_messages=2)
    assert stats.messages == 2
    assert stats.result is not None and (stats.result.stored, stats.result.duplicates) == (3, 1)
    assert [x["attrs"]["fillingLevel"] for x in stored(platform)] == [0.01, 0.02, 0.03]
    r_ = streams.client(platform)
    assert r_.xlen(streams.STREAM) == 0
    assert r_.xpending(streams.STREAM, streams.GROUP)["pending"] == 0


def test_a_dead_workers_messages_are_claimed(
    platform: Platform, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(platform, "bin-d", "WasteContainer")
    platform.settings.extra["redis_url"] = redis_url
    r = streams.client(platform)
    streams.ensure_group(r)
    body = json.dumps(_body("bin-d", 5)).encode()
    streams.enqueue(
        platform, "ngsi", body, content_type="application/json", link=None, request_id="t"
    )
    r.xadd(streams.STREAM, {"kind": "ngsi", "body": b"[1, 2", "content_type": "application/json"})
    # A worker reads both and dies before storing: they stay pending under its name.
    taken = r.xreadgroup(streams.GROUP, "dead", {streams.STREAM: ">"}, count=10)
    assert len(taken[0][1]) == 2
    assert stored(platform) == []
    monkeypatch.setattr(streams, "CLAIM_IDLE_MS", 0)
    worker = streams.Worker(platform, "alive", url=redis_url, block_ms=50)
    stats = worker.run(max_messages=2)
    assert (stats.messages, stats.dead) == (2, 1)
    assert [x["attrs"]["fillingLevel"] for x in stored(platform)] == [0.05]
    assert r.xlen(streams.DEAD) == 1
    assert r.xpending(streams.STREAM, streams.GROUP)["pending"] == 0


def test_mqtt_subscriber_stores_then_acknowledges(platform: Platform, mosquitto_port: int) -> None:
    import paho.mqtt.client as mqtt

    from civicloop.discovery.mqtt import Subscriber

    register(platform, "bin-m", "WasteContainer")
    sub = Subscriber(
        platform, host="127.0.0.1", port=mosquitto_port, topic="civicloop/readings/#", flush_ms=50
    )
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    try:
        assert sub.connected.wait(10)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gateway-1")
        pub.connect("127.0.0.1", mosquitto_port)
        pub.loop_start()
        infos = [
            pub.publish("civicloop/readings/gw1", json.dumps(_body("bin-m", 10, 11)), qos=1),
            pub.publish(
                "civicloop/readings/gw1",
                json.dumps(
                    {
                        "readings": [
                            {
                                "device_id": "bin-m",
                                "observed_at": "2026-11-25T01:12:00Z",
                                "attrs": {"fillingLevel": 0.12},
                            },
                            {"device_id": "ghost", "attrs": {"fillingLevel": 0.5}},
                        ]
                    }
                ),
                qos=1,
            ),
            pub.publish("civicloop/readings/gw1", b"not json", qos=1),
        ]
        for info in infos:
            info.wait_for_publish(5)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(stored(platform, "bin-m")) < 3:
            time.sleep(0.05)
        pub.loop_stop()
        pub.disconnect()
    finally:
        sub.stop.set()
        thread.join(10)
    assert [x["attrs"]["fillingLevel"] for x in stored(platform, "bin-m")] == [0.1, 0.11, 0.12]
    assert sub.stats.messages == 3 and sub.stats.unusable == 1
    assert sub.stats.result.quarantined == 1
    service.forget_devices(platform)
