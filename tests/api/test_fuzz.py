"""Property-based fuzzing of the whole API from its OpenAPI document (Schemathesis).

Whatever the generated input, no operation answers 5xx; every error is problem+json. Runs as a
logged-in shift chief (who may try most actions) against a seeded district.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from civicloop.app import create_app
from civicloop.runtime import Platform

pytestmark = pytest.mark.slow


@pytest.fixture
def api_schema(platform: Platform) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(platform))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_operation_answers_5xx(case: Any, platform: Platform) -> None:
    from civicloop.demo.generator import DEMO_PASSWORD

    token = _token(case, DEMO_PASSWORD)
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    if response.status_code >= 400:
        content_type = response.headers.get("content-type")
        if isinstance(content_type, list):
            content_type = content_type[0]
        assert str(content_type).startswith("application/problem+json"), response.text


_TOKENS: dict[int, str] = {}


def _token(case: Any, password: str) -> str:
    from starlette.testclient import TestClient

    app = case.operation.schema.app
    key = id(app)
    if key not in _TOKENS:
        with TestClient(app) as c:
            r = c.post("/api/v1/auth/login", json={"username": "chief", "password": password})
            _TOKENS[key] = r.json()["access_token"]
    return _TOKENS[key]
