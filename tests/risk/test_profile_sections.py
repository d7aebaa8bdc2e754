"""Profiles carry the risk, credit and links sections of a registered enterprise."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from civicloop.registry import service as registry_service
from civicloop.risk import service as risk
from civicloop.runtime import Platform
from tests.helpers import login
from tests.risk.test_api import registry  # noqa: F401  (the small generated registry)
from tests.risk.test_data_loop import _close, _walk


@pytest.mark.slow
def test_an_enterprise_profile_shows_its_risk_credit_and_links(
    client: TestClient,
    registry: Platform,  # noqa: F811
) -> None:
    p = registry
    entity = next(iter(registry_service.iter_records(p, "entity")))[0]
    code = entity["credit_code"]
    _close(p, _walk(client, p, text=f"{entity['name']}（{code}）门前堆物"))
    risk.consume(p)
    admin = login(client, "admin")
    assert client.post("/api/v1/links/run", json={}, headers=admin).status_code == 200

    r = client.get(f"/api/v1/profiles/entity/{code}", headers=admin)
    assert r.status_code == 200, r.text
    sections = r.json()["sections"]
    assert sections["risk"]["score"] == 12.0
    assert sections["risk"]["explanation"]["indicators"][0]["indicator"] == "violations_confirmed"
    assert sections["credit"]["grade"] == "B"
    assert sections["credit"]["history"][0]["previous_grade"] is None
    links = sections["links"]
    assert links["golden_id"].startswith("G")
    assert {"source": "registry.entity", "record_id": code} in [
        {k: x[k] for k in ("source", "record_id")} for x in links["records"]
    ]
