"""Login, lockout, tokens and API keys."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from civicloop.core.clock import FrozenClock
from civicloop.demo.generator import DEMO_PASSWORD
from civicloop.org.service import create_api_key
from civicloop.runtime import Platform
from tests.helpers import element, login, report_body


def test_wrong_password_and_unknown_user_read_the_same(client: TestClient) -> None:
    a = client.post(
        "/api/v1/auth/login", json={"username": "operator", "password": "wrong-password!"}
    )
    b = client.post(
        "/api/v1/auth/login", json={"username": "nobody", "password": "wrong-password!"}
    )
    assert a.status_code == b.status_code == 401
    assert a.json()["title"] == b.json()["title"]


def test_lockout_after_repeated_failures_then_unlock(
    client: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    for _ in range(platform.settings.lockout_threshold):
        client.post(
            "/api/v1/auth/login", json={"username": "dispatcher", "password": "bad-bad-bad-bad"}
        )
    locked = client.post(
        "/api/v1/auth/login", json={"username": "dispatcher", "password": DEMO_PASSWORD}
    )
    assert locked.status_code == 423 and locked.json()["code"] == "auth.locked"
    clock.advance(timedelta(seconds=platform.settings.lockout_seconds + 1))
    assert (
        client.post(
            "/api/v1/auth/login", json={"username": "dispatcher", "password": DEMO_PASSWORD}
        ).status_code
        == 200
    )


def test_tokens_expire_and_logout_revokes(
    client: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    h = login(client, "operator")
    assert client.get("/api/v1/me", headers=h).json()["role"] == "operator"
    assert client.post("/api/v1/auth/logout", headers=h).status_code == 204
    assert client.get("/api/v1/me", headers=h).status_code == 401
    h2 = login(client, "operator")
    clock.advance(timedelta(seconds=platform.settings.token_ttl_seconds + 1))
    assert client.get("/api/v1/me", headers=h2).status_code == 401


def test_api_key_files_a_case_and_sees_only_its_own(client: TestClient, platform: Platform) -> None:
    key = create_api_key(platform, "sensor-gateway")
    h = {"X-API-Key": key}
    e = element(platform)
    r = client.post("/api/v1/cases", json=report_body(platform, e, channel="sensor"), headers=h)
    assert r.status_code == 201, r.text
    mine = client.get("/api/v1/cases", headers=h).json()
    assert [c["id"] for c in mine["items"]] == [r.json()["id"]]
    assert client.get("/api/v1/cases", headers={"X-API-Key": key + "x"}).status_code == 401
