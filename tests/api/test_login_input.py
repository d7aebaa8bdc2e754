"""Login refuses control characters as bad input (a NUL once reached PostgreSQL and failed)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_a_nul_in_the_username_or_password_is_bad_input(client: TestClient) -> None:
    for body in (
        {"username": "a\x00b", "password": "x"},
        {"username": "operator", "password": "a\x00"},
    ):
        r = client.post("/api/v1/auth/login", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["field"] in ("username", "password")
