"""Profile pages (一企一档 / 一房一档 / 一人一档) over the registry's profile API, with a small
synthetic registry imported into the running demo server's data directory."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import Server, as_user

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registry_ids(
    console_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    generate = pytest.importorskip("civicloop.registry.generate")
    importer = pytest.importorskip("civicloop.registry.importer")
    from civicloop.core.settings import Settings
    from civicloop.runtime import Platform

    out = tmp_path_factory.mktemp("registry")
    p = Platform.open(Settings(data_dir=console_server.data_dir, sweep_interval_seconds=0))
    try:
        generate.write_dataset(p, out, people=120, entities=30, rooms=60, seed=7, bad_rows=0)
        for kind in ("rooms", "people", "entities"):
            importer.import_file(p, kind, out / f"{kind}.csv")
    finally:
        p.close()
    db = sqlite3.connect(Path(console_server.data_dir) / "civicloop.db")
    try:
        ids = {
            "enterprise": db.execute(
                "SELECT credit_code FROM registry_entities LIMIT 1"
            ).fetchone()[0],
            "building": db.execute(
                "SELECT building_id FROM registry_entities WHERE building_id IS NOT NULL LIMIT 1"
            ).fetchone()[0],
            "person": db.execute("SELECT id FROM registry_people LIMIT 1").fetchone()[0],
        }
    finally:
        db.close()
    yield ids


def test_enterprise_profile_links_to_its_building(
    console_server: Server, console_page: Any, registry_ids: dict[str, str]
) -> None:
    page = console_page
    as_user(page, console_server, "chief")
    page.goto(f"{console_server.url}/console/profiles/enterprise/{registry_ids['enterprise']}")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    assert "企业画像" in page.locator("h1").inner_text()
    facts = page.locator("#profile-facts").inner_text()
    assert registry_ids["enterprise"] in facts
    # the legal representative's name is masked by the API: its surname, then one star per
    # hidden character (a two-character name shows as "郑*")
    assert re.search(r"法定代表人\n[^\n*]+\*+\n", facts), facts
    page.locator("#profile-facts a[href*='/console/profiles/building/']").first.click()
    page.wait_for_url("**/console/profiles/building/**")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    assert "建筑画像" in page.locator("h1").inner_text()
    assert page.locator("#profile-lists a[href*='/console/profiles/enterprise/']").count() >= 1
    assert page.locator("#profile-map canvas, #profile-map svg path").count() >= 1
    assert page.console_errors == []


def test_person_profile_is_masked(
    console_server: Server, console_page: Any, registry_ids: dict[str, str]
) -> None:
    page = console_page
    as_user(page, console_server, "chief")
    page.goto(f"{console_server.url}/console/profiles/person/{registry_ids['person']}?lang=en")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    assert "Person profile" in page.locator("h1").inner_text()
    assert "****" in page.locator("#profile-facts").inner_text()
    assert page.console_errors == []
