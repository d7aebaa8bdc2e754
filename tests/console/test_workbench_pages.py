"""The workbench and portal shells without a browser: served, in both languages, with every
word they use present in both dictionaries (a missing key would show its raw name)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

WEB = Path(__file__).resolve().parents[2] / "src" / "civicloop" / "web"
PAGES = {
    "/console/dispatch": ("派遣工作台", "Dispatcher workbench", "wb/dispatch.js"),
    "/console/department": ("部门工作台", "Department workbench", "wb/department.js"),
    "/console/grid": ("网格员工作台", "Grid worker", "wb/grid.js"),
    "/report": ("我要反映", "Report a problem", "wb/report.js"),
    "/enterprise": ("企业服务", "Enterprise service", "wb/enterprise.js"),
}


@pytest.mark.parametrize("path", sorted(PAGES))
def test_page_shell_in_chinese_and_english(client: TestClient, path: str) -> None:
    zh, en, module = PAGES[path]
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>" + zh in r.text
    assert f"/static/{module}?v=" in r.text
    assert r.headers["x-frame-options"] == "DENY"
    english = client.get(path, params={"lang": "en"})
    assert "<h1>" + en in english.text
    assert 'lang="en"' in english.text


def test_modules_and_styles_are_served(client: TestClient) -> None:
    for name in ("core.js", "dispatch.js", "department.js", "grid.js", "report.js"):
        r = client.get(f"/static/wb/{name}")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/wb/wb.css").headers["content-type"].startswith("text/css")


def _dictionary(lang: str) -> dict[str, str]:
    return dict(json.loads((WEB / "static" / "wb" / "i18n" / f"{lang}.json").read_text("utf-8")))


def test_both_dictionaries_have_the_same_words() -> None:
    zh, en = _dictionary("zh"), _dictionary("en")
    assert set(zh) == set(en)
    assert all(k.startswith("wb.") for k in zh), "our keys must not shadow the console's"
    assert all(v.strip() for v in (*zh.values(), *en.values()))


def test_every_literal_key_in_pages_and_modules_exists() -> None:
    words = set(_dictionary("zh"))
    used: set[str] = set()
    for js in (WEB / "static" / "wb").glob("*.js"):
        text = js.read_text("utf-8")
        # t("key" …) and the two arms of t(cond ? "a" : "b")
        for m in re.finditer(
            r'\bt\(\s*(?:[\w.]+\s*\?\s*)?"([a-z_.]+)"(?:\s*:\s*"([a-z_.]+)")?', text
        ):
            used.update(k for k in m.groups() if k)
    for html in (WEB / "templates").glob("*/*.html"):
        if html.parent.name in ("workbench", "portal"):
            used.update(re.findall(r't\(["\'](wb\.[a-z_.]+)["\']', html.read_text("utf-8")))
    missing = sorted(k for k in used if (k if k.startswith("wb.") else f"wb.{k}") not in words)
    assert missing == []
    assert len(used) > 150


def test_navigation_offers_each_role_its_workbench(client: TestClient) -> None:
    page = client.get("/console/dispatch").text
    for href, roles in (
        ("/console/dispatch", "operator dispatcher shift_chief"),
        ("/console/department", "department_handler"),
        ("/console/grid", "grid_worker"),
        ("/report", "citizen"),
        ("/enterprise", "enterprise"),
    ):
        assert re.search(rf'data-roles="{roles}"[^>]*>\s*<a href="{href}"', page), href
