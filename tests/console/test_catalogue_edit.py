"""Editing the catalogue in the console (SQLite and PostgreSQL): an admin's valid edit becomes
a local catalogue under ``<data_dir>/catalogue/`` with a new version, the platform's active
catalogue at once and after a restart, traced in the ledger; invalid edits, non-admins, bad
names and removing an element open cases use are refused with nothing written; "restore
packaged" goes back to the shipped catalogue."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from civicloop.cases import queries
from civicloop.ledger.service import timeline
from civicloop.org.model import SYSTEM_ACTOR
from civicloop.runtime import Platform
from tests.helpers import element, login, report_body

FILE = "12-urban-events-01-03.yaml"


def _text(client: TestClient, h: dict[str, str], name: str = FILE) -> str:
    r = client.get(f"/console/api/config/files/catalogue/{name}", headers=h)
    assert r.status_code == 200, r.text
    return str(r.json()["text"])


def test_an_admin_saves_a_catalogue_edit_that_takes_effect(
    client: TestClient, platform: Platform
) -> None:
    admin, auditor = login(client, "admin"), login(client, "auditor")
    local = Path(platform.settings.data_dir) / "catalogue"
    before = client.get("/api/v1/catalogue", headers=admin).json()["version"]
    text = _text(client, admin)
    edited = text.replace("name: 暴露垃圾", "name: 暴露垃圾（含散落）", 1)

    # an auditor may validate but not save
    r = client.put(f"/console/api/config/catalogue/{FILE}", json={"text": edited}, headers=auditor)
    assert r.status_code == 403 and not local.exists()

    # a broken edit: refused, each problem at its line, nothing written
    broken = edited.replace("deadline: work_2h}", "deadline: work_2x}", 1)
    r = client.put(f"/console/api/config/catalogue/{FILE}", json={"text": broken}, headers=admin)
    assert r.status_code == 422 and r.json()["rule"] == "valid_catalogue"
    problem = r.json()["problems"][0]
    assert "work_2x" in problem["message"]
    assert "work_2x" in broken.splitlines()[problem["line"] - 1]
    assert not local.exists()
    assert not any(p.name.startswith(".catalogue") for p in local.parent.iterdir())

    # a good edit: saved, new version, active at once
    r = client.put(f"/console/api/config/catalogue/{FILE}", json={"text": edited}, headers=admin)
    assert r.status_code == 200, r.text
    version = r.json()["version"]
    assert version != before and re.fullmatch(r".+\+local\.[0-9a-f]{8}", version)
    assert len(version) <= 32
    assert (local / FILE).read_text("utf-8") == edited
    got = client.get("/api/v1/catalogue/elements/E0101", headers=admin).json()
    assert got["name"] == "暴露垃圾（含散落）"
    assert client.get("/api/v1/catalogue", headers=admin).json()["version"] == version
    files = client.get("/console/api/config/files", headers=admin).json()
    assert all(f["source"] == "local" and f["editable"] for f in files if f["kind"] == "catalogue")

    # traced in the ledger with both hashes and versions
    (entry,) = timeline(platform.db, "catalogue", FILE)
    assert entry.action == "config.catalogue_saved"
    assert entry.before["version"] == before and entry.after["version"] == version
    assert entry.before["sha256"] != entry.after["sha256"]

    # a case filed now records the new version
    body = report_body(platform, element(platform))
    r = client.post("/api/v1/cases", json=body, headers=login(client, "citizen"))
    assert r.status_code == 201
    case = queries.read_case(platform, SYSTEM_ACTOR, r.json()["id"])
    assert case["catalogue_version"] == version

    # a restart loads the local catalogue (CIVICLOOP_CATALOGUE not set)
    again = Platform.open(platform.settings, clock=platform.clock)
    try:
        assert again.catalogue.version == version
        assert again.catalogue.elements["E0101"].name == "暴露垃圾（含散落）"
    finally:
        again.close()

    # restore packaged: back to the shipped catalogue, traced
    r = client.post("/console/api/config/catalogue/restore", headers=admin)
    assert r.status_code == 200 and r.json()["version"] == before
    assert not local.exists()
    assert (
        client.get("/api/v1/catalogue/elements/E0101", headers=admin).json()["name"] == "暴露垃圾"
    )
    assert [e.action for e in timeline(platform.db, "catalogue", "packaged")] == [
        "config.catalogue_restored"
    ]
    assert client.post("/console/api/config/catalogue/restore", headers=admin).status_code == 404


def test_an_element_open_cases_use_is_not_removed(client: TestClient, platform: Platform) -> None:
    admin = login(client, "admin")
    e = element(platform)
    body = report_body(platform, e)
    assert (
        client.post("/api/v1/cases", json=body, headers=login(client, "citizen")).status_code == 201
    )
    name = next(
        f["name"]
        for f in client.get("/console/api/config/files", headers=admin).json()
        if f["kind"] == "catalogue" and f"code: {e.code}" in _text(client, admin, f["name"])
    )
    text = _text(client, admin, name)
    # cut the element's block out of its file: the catalogue is otherwise valid
    lines = text.splitlines(keepends=True)
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"- code: {e.code}")
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(r"^\s*- code: ", lines[i])
         or re.match(r"^\S", lines[i])),
        len(lines),
    )  # fmt: skip
    without = "".join(lines[:start] + lines[end:])
    r = client.post(
        "/console/api/config/validate",
        json={"kind": "catalogue", "name": name, "text": without},
        headers=admin,
    )
    assert r.json()["is_valid"] is False
    assert any(e.code in p["message"] for p in r.json()["problems"])
    r = client.put(f"/console/api/config/catalogue/{name}", json={"text": without}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["rule"] == "element_in_use" and r.json()["element"] == e.code
    assert not (Path(platform.settings.data_dir) / "catalogue").exists()
    assert platform.catalogue.element(e.code) is not None


def test_bad_names_are_refused(client: TestClient) -> None:
    admin = login(client, "admin")
    for bad in ("..%2Fx.yaml", "x.txt", ".hidden.yaml"):
        r = client.put(f"/console/api/config/catalogue/{bad}", json={"text": "a: 1"}, headers=admin)
        assert r.status_code in (404, 422), (bad, r.status_code)
        if r.status_code == 422:
            assert r.json()["field"] == "name"
    assert (
        client.put("/console/api/config/catalogue/x.yaml", json={"text": "a: 1"}).status_code == 401
    )
