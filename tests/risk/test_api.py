"""Risk over HTTP: scores with explanations, heat per grid and street, draws and their scope."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from civicloop.enterprise.demo import demo_credit_code
from civicloop.ledger import service as ledger
from civicloop.org import service as org
from civicloop.risk import service as risk
from civicloop.risk.model import weighted_draw
from civicloop.runtime import Platform
from tests.helpers import login, user_region
from tests.risk.test_data_loop import _close, _walk


@pytest.fixture
def registry(platform: Platform, tmp_path: Path) -> Iterator[Platform]:
    """A small generated registry (rooms, people, entities) over the seeded district."""
    from civicloop.intake.gazetteer import seed_gazetteer
    from civicloop.registry.generate import write_dataset
    from civicloop.registry.importer import import_file

    seed_gazetteer(platform, seed=7)
    out = tmp_path / "registry"
    write_dataset(platform, out, people=200, entities=150, rooms=120, seed=3)
    for name in ("rooms", "people", "entities"):
        import_file(platform, name, out / f"{name}.csv")
    yield platform


def test_scores_heat_and_scope_over_http(client: TestClient, platform: Platform) -> None:
    code = demo_credit_code(random.Random(5))
    cid = _walk(client, platform, text=f"企业{code}占道经营")
    _close(platform, cid)
    admin = login(client, "admin")
    assert client.post("/api/v1/risk/update", headers=login(client, "operator")).status_code == 403
    r = client.post("/api/v1/risk/update", headers=admin)
    assert r.status_code == 200 and r.json()["outcomes"] == 1

    one = client.get(f"/api/v1/risk/scores/enterprise/{code}", headers=admin)
    assert one.status_code == 200
    body = one.json()
    assert body["grade"] == "B" and body["explanation"]["indicators"][0]["points"] == 12.0

    grids = client.get("/api/v1/risk/heat?level=grid", headers=admin).json()["items"]
    assert len(grids) == 1 and grids[0]["score"] == 2.0
    streets = client.get("/api/v1/risk/heat?level=street", headers=admin).json()["items"]
    hot = [s for s in streets if s["grids_scored"]]
    assert len(hot) == 1 and hot[0]["max"] == 2.0 and 0 < hot[0]["score"] <= 2.0
    assert client.get("/api/v1/risk/heat?level=planet", headers=admin).status_code == 422
    assert (
        client.get("/api/v1/risk/scores/grid/x", headers=login(client, "citizen")).status_code
        == 403
    )
    cards = client.get("/api/v1/risk/scorecards", headers=admin).json()
    assert set(cards["active"]) == {"enterprise", "building", "room", "grid"}
    assert {(v["code"], v["version"]) for v in cards["versions"]} >= {("enterprise", 1)}
    listed = client.get("/api/v1/risk/scores?kind=enterprise", headers=admin).json()["items"]
    assert [x["subject_id"] for x in listed] == [code]
    # a grid worker sees the grid score only when the grid is in their territory
    worker = client.get("/api/v1/risk/scores?kind=grid", headers=login(client, "gridworker"))
    assert len(worker.json()["items"]) == 1  # the case was reported in the worker's area
    other = client.get("/api/v1/risk/scores?kind=grid", headers=login(client, "gridworker2"))
    assert other.json()["items"] == []
    hidden = grids[0]["code"]
    r = client.get(f"/api/v1/risk/scores/grid/{hidden}", headers=login(client, "gridworker2"))
    assert r.status_code == 404
    bad = client.get("/api/v1/risk/scores/comet/x", headers=admin)
    assert bad.status_code == 422 and bad.json()["field"] == "kind"


@pytest.mark.slow
def test_a_draw_is_tilted_reproducible_and_in_the_ledger(
    client: TestClient, registry: Platform
) -> None:
    from civicloop.registry import service as registry_service

    p = registry
    rooms = next(iter(registry_service.iter_records(p, "room")))
    street = risk.street_of(p, rooms[0]["grid_code"])
    assert street is not None
    chief = login(client, "chief")
    body = {"street_code": street, "subject_kind": "room", "size": 5, "seed": 20261127}
    if street != user_region(p, "street-ljz"):  # a street admin draws only in their street
        r = client.post("/api/v1/risk/draws", json=body, headers=login(client, "street-ljz"))
        assert r.status_code == 404
    r = client.post("/api/v1/risk/draws", json=body, headers=chief)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["population"] >= 5 and len(d["picked"]) == 5 and d["seed"] == 20261127
    again = client.post(f"/api/v1/risk/draws/{d['id']}/replay", headers=chief).json()
    assert again["is_same_population"] and again["is_same_picks"]
    entry = ledger.timeline(p.db, "risk_draw", d["id"])
    assert entry[0].action == "risk.draw_made"
    assert entry[0].after["picked"] == [x["key"] for x in d["picked"]]
    # validation: a size out of range, and a grid worker may not draw
    assert (
        client.post("/api/v1/risk/draws", json={**body, "size": 0}, headers=chief).status_code
        == 422
    )
    assert (
        client.post(
            "/api/v1/risk/draws", json=body, headers=login(client, "gridworker")
        ).status_code
        == 403
    )


def test_the_draw_tilts_towards_risk() -> None:
    population = [(f"k{i:03d}", 100.0 if i < 10 else 0.0) for i in range(100)]
    risky = 0
    for seed in range(400):
        picks = weighted_draw(population, 5, seed, tilt=4.0)
        risky += sum(1 for x in picks if x["risk"] > 0)
        assert picks == weighted_draw(population, 5, seed, tilt=4.0)  # reproducible
    # weight 5 vs 1: 10 risky of 100 hold 50/140 of the weight; uniform would give 10 %
    assert risky / (400 * 5) > 0.25
    uniform = sum(
        sum(1 for x in weighted_draw(population, 5, s, tilt=0.0) if x["risk"] > 0)
        for s in range(400)
    )
    assert 0.05 < uniform / 2000 < 0.15


def test_priority_hint_raises_for_a_high_risk_enterprise(
    client: TestClient, platform: Platform
) -> None:
    from civicloop.cases import service as cases
    from civicloop.cases.model import ClosureType

    code = demo_credit_code(random.Random(9))
    operator = org.actor_for_user(platform, "operator")
    _close(platform, _walk(client, platform, text=f"企业{code}违规排污"))
    risk.consume(platform)
    # a case naming the enterprise is matched to it, as the data loop matches
    hint = risk.priority_hint(platform, {"grid_code": None, "description": f"又见{code}排污"})
    assert hint is not None and hint["subject_id"] == code and hint["score"] == 12.0
    assert hint["is_raised"] is False
    # two violations that could not be rectified (special closure): 36 + 30 → high
    for _ in range(2):
        cid = _walk(client, platform, text=f"企业{code}违规排污")
        cases.close_case(
            platform,
            operator,
            cid,
            closure_type=ClosureType.SPECIAL,
            reason="企业拒不整改，移送执法",
        )
    risk.consume(platform)
    hint = risk.priority_hint(platform, ("enterprise", code))
    assert hint is not None and hint["band"] == "high" and hint["is_raised"] is True
    assert hint["grade"] == "D"
