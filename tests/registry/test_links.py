"""Entity links over HTTP: a run, the review queue, merge and unmerge with history and ledger."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from civicloop.ledger import service as ledger
from civicloop.runtime import Platform
from tests.helpers import login

RECORDS: list[dict[str, Any]] = [
    {"source": "permit", "record_id": "P1", "name": "上海浦江宏达科技发展有限公司",
     "address": "上海市浦东新区浦东南路100弄5号楼"},
    {"source": "device", "record_id": "D1", "name": "浦江宏达科技(上海)有限责任公司",
     "address": "浦东南路一〇〇弄5幢"},
    {"source": "permit", "record_id": "P2", "name": "金桥远航物流有限公司",
     "address": "张杨路20弄1号"},
    {"source": "case", "record_id": "C2", "name": "金桥远航物流股份有限公司"},
]  # fmt: skip


def test_run_review_merge_and_unmerge(client: TestClient, platform: Platform) -> None:
    admin = login(client, "admin")
    assert client.post("/api/v1/links/run", json={"records": RECORDS},
                       headers=login(client, "operator")).status_code == 403  # fmt: skip
    r = client.post("/api/v1/links/run", json={"records": RECORDS}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["records"] == 4 and r.json()["reviews_queued"] == 1

    p1 = client.get("/api/v1/links/records/permit:P1", headers=admin).json()
    d1 = client.get("/api/v1/links/records/device:D1", headers=admin).json()
    assert p1["golden_id"] == d1["golden_id"] and d1["method"] == "probabilistic"

    # a second run keeps the golden ids and queues nothing twice
    again = client.post("/api/v1/links/run", json={}, headers=admin).json()
    assert again["records"] == 4 and again["reviews_queued"] == 0 and again["golden_changed"] == 0

    queue = client.get("/api/v1/links/review", headers=admin).json()["items"]
    assert len(queue) == 1
    item = queue[0]
    assert {item["left_key"], item["right_key"]} == {"case:C2", "permit:P2"}
    assert item["left"]["label"] and item["right"]["label"]
    bad = client.post("/api/v1/links/review", json={"review_id": item["id"], "decision": "maybe"},
                      headers=admin)  # fmt: skip
    assert bad.status_code == 422
    ok = client.post("/api/v1/links/review", json={"review_id": item["id"], "decision": "accept"},
                     headers=admin)  # fmt: skip
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    twice = client.post(
        "/api/v1/links/review", json={"review_id": item["id"], "decision": "reject"}, headers=admin
    )
    assert twice.status_code == 409
    c2 = client.get("/api/v1/links/records/case:C2", headers=admin).json()
    p2 = client.get("/api/v1/links/records/permit:P2", headers=admin).json()
    assert c2["golden_id"] == p2["golden_id"] and c2["method"] == "manual"

    # unmerge: the record leaves, with history, and a re-run does not put it back
    out = client.post(
        "/api/v1/links/unmerge",
        json={"record_key": "case:C2", "reason": "不同企业，名称相近"},
        headers=admin,
    )
    assert out.status_code == 200, out.text
    assert out.json()["previous_golden_id"] == p2["golden_id"]
    client.post("/api/v1/links/run", json={}, headers=admin)
    c2_after = client.get("/api/v1/links/records/case:C2", headers=admin).json()
    assert c2_after["golden_id"] != p2["golden_id"]
    cluster = client.get(f"/api/v1/links/clusters/{p2['golden_id']}", headers=admin).json()
    assert [h["action"] for h in cluster["history"]] == ["merged", "unmerged"]

    # merge by hand: the two enterprises' clusters join, and the ledger has every decision
    m = client.post("/api/v1/links/merge", json={"golden_id": p1["golden_id"],
                    "other_golden_id": p2["golden_id"], "reason": "同一集团"}, headers=admin)  # fmt: skip
    assert m.status_code == 200 and len(m.json()["members"]) == 3
    actions = [e.action for e in ledger.timeline(platform.db, "golden", p2["golden_id"])]
    assert actions == ["links.merged", "links.unmerged"]
    assert ledger.verify(platform.db).ok


def test_links_are_for_admins_and_auditors(client: TestClient, platform: Platform) -> None:
    admin = login(client, "admin")
    client.post("/api/v1/links/run", json={"records": RECORDS}, headers=admin)
    assert client.get("/api/v1/links/review", headers=login(client, "auditor")).status_code == 200
    assert client.get("/api/v1/links/review", headers=login(client, "citizen")).status_code == 403
    assert client.get("/api/v1/links/records/nope:1", headers=admin).status_code == 404
    r = client.post(
        "/api/v1/links/merge",
        json={"golden_id": "G1", "other_golden_id": "G1", "reason": "x"},
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["field"] == "other_golden_id"
