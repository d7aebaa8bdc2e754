"""Entity resolution gathers the platform's own sources: permits, enterprises and their demands,
device owners and cases land in the registry objects' clusters, idempotently, without stale rows.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civicloop.core.errors import InputError
from civicloop.discovery.model import Device
from civicloop.discovery.permits import import_permits
from civicloop.discovery.service import register_devices, remove_device
from civicloop.org.model import SYSTEM_ACTOR
from civicloop.registry import links as t
from civicloop.registry import resolution
from civicloop.registry import service as registry
from civicloop.registry.resolution_sources import SourceLimits, credit_codes_in
from civicloop.runtime import Platform
from tests.helpers import element, login, point_in, report_body, user_region


def _entity(p: Platform) -> dict[str, Any]:
    """A registry legal entity with an operating address and a name long enough to misspell."""
    for batch in registry.iter_records(p, "entity"):
        for r in batch:
            if r.get("operating_address") and len(r["name"]) >= 8:
                return r
    raise LookupError("no entity")


def _typo(name: str) -> str:
    """One character of the name's core changed (浦江宏达科技 → 浦江宏大科技)."""
    i = len(name) // 2
    return name[:i] + ("大" if name[i] != "大" else "达") + name[i + 1 :]


def _golden(p: Platform, key: str) -> str | None:
    source, rid = key.split(":", 1)
    return resolution.golden_id_of(p, source, rid)


def _count(p: Platform) -> int:
    with p.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.entity_links)).scalar_one())


def _case(client: TestClient, p: Platform, **extra: Any) -> dict[str, Any]:
    body = report_body(p, element(p, check=False), **extra)
    r = client.post("/api/v1/cases", json=body, headers=login(client, "citizen"))
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.fixture
def sources(loaded: Platform, client: TestClient) -> dict[str, Any]:
    """One registry enterprise named by every platform source, and a case at a building."""
    p = loaded
    ent = _entity(p)
    code, name, address = ent["credit_code"], ent["name"], ent["operating_address"]
    import_permits(p, SYSTEM_ACTOR, {"permits": [{
        "permit_no": "ZT-2026-001", "plate": "沪A12345", "company_credit_code": code,
        "company_name": name.replace("有限公司", "有限责任公司"),
        "route": [[121.50, 31.20], [121.52, 31.22]],
    }]})  # fmt: skip
    h = login(client, "enterprise")
    lon, lat = point_in(p, user_region(p, "gridworker"))
    reg = {"credit_code": code, "name": name, "address": address, "lon": lon, "lat": lat}
    assert client.post("/api/v1/enterprise/register", json=reg, headers=h).status_code == 200
    demand = client.post(
        "/api/v1/enterprise/demands",
        json={"category": "policy", "text": "想了解今年的研发补贴怎么申报。"},
        headers=h,
    )
    assert demand.status_code in (200, 201), demand.text
    register_devices(p, [
        # the owner's name misspelt, no credit code: only splink can link it (name + address)
        Device("meter-own-1", "WaterMeter", lon=lon, lat=lat,
               attrs={"owner_name": _typo(name), "owner_address": address}),
        Device("meter-own-2", "WaterMeter", lon=lon, lat=lat,
               attrs={"owner_credit_code": code}),
        Device("meter-plain", "WaterMeter", lon=lon, lat=lat, attrs={"room_id": "R1"}),
    ])  # fmt: skip
    named = _case(client, p, description=f"举报：统一社会信用代码{code}的企业夜间施工噪声扰民。")
    building = next(registry.iter_records(p, "building"))[0]
    at = _case(client, p, address=building["address"])
    return {
        "code": code,
        "demand": demand.json()["number"],
        "case": named["number"],
        "site_case": at["number"],
        "building": building["id"],
        "place": (lon, lat),
    }


def test_every_source_lands_in_the_registry_cluster(
    loaded: Platform, client: TestClient, sources: dict[str, Any]
) -> None:
    p, s = loaded, sources
    admin = login(client, "admin")
    r = client.post("/api/v1/links/run", json={}, headers=admin)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["platform_sources"] is True and first["stale_dropped"] == 0
    assert first["sources"]["platform.permit"] == 1
    assert first["sources"]["platform.device"] == 2  # the plain meter has no owner
    golden = _golden(p, f"registry.entity:{s['code']}")
    assert golden is not None
    members = {
        "platform.permit:ZT-2026-001": "exact_credit_code",
        f"platform.enterprise:{s['code']}": "exact_credit_code",
        f"platform.demand:{s['demand']}": "exact_credit_code",
        "platform.device:meter-own-2": "exact_credit_code",
        f"platform.case:{s['case']}": "exact_credit_code",
        "platform.device:meter-own-1": "probabilistic",
    }
    for key, method in members.items():
        link = resolution.read_record_link(p, SYSTEM_ACTOR, key)
        assert (link["golden_id"], link["method"]) == (golden, method), key
    # the case filed at a registered building joins the building's cluster
    site = resolution.read_record_link(p, SYSTEM_ACTOR, f"platform.case_site:{s['site_case']}")
    assert site["golden_id"] == _golden(p, f"registry.building:{s['building']}")
    assert site["method"] == "exact_address_match" and site["label"]

    # the enterprise's profile lists them in its links section
    prof = client.get(f"/api/v1/profiles/entity/{s['code']}", headers=admin).json()
    listed = {f"{x['source']}:{x['record_id']}" for x in prof["sections"]["links"]["records"]}
    assert set(members) <= listed

    # a second run changes nothing: same golden ids, no new rows, nothing queued
    rows = _count(p)
    again = client.post("/api/v1/links/run", json={}, headers=admin).json()
    assert again["golden_changed"] == 0 and again["reviews_queued"] == 0
    assert again["records"] == first["records"] and _count(p) == rows
    assert _golden(p, "platform.device:meter-own-1") == golden


def test_gone_records_are_dropped_and_the_skip_flag_reuses_the_last_run(
    loaded: Platform, client: TestClient, sources: dict[str, Any]
) -> None:
    p, s = loaded, sources
    admin = login(client, "admin")
    first = client.post("/api/v1/links/run", json={}, headers=admin).json()

    # skipped: a new owner is not read, the stored platform rows are kept as they were
    lon, lat = s["place"]
    register_devices(p, [Device("meter-own-3", "WaterMeter", lon=lon, lat=lat,
                                attrs={"owner_credit_code": s["code"]})])  # fmt: skip
    remove_device(p, "meter-own-2", actor=SYSTEM_ACTOR)
    skip = client.post("/api/v1/links/run", json={"platform_sources": False}, headers=admin)
    assert skip.status_code == 200, skip.text
    assert skip.json()["platform_sources"] is False and skip.json()["golden_changed"] == 0
    assert skip.json()["records"] == first["records"]
    assert _golden(p, "platform.device:meter-own-3") is None
    assert _golden(p, "platform.device:meter-own-2") is not None

    # gathered again: the removed device's link is gone, the new one is in the cluster
    done = client.post("/api/v1/links/run", json={}, headers=admin).json()
    assert done["stale_dropped"] == 1 and done["records"] == first["records"]
    assert _golden(p, "platform.device:meter-own-2") is None
    assert _golden(p, "platform.device:meter-own-3") == _golden(p, f"registry.entity:{s['code']}")
    gone = client.get("/api/v1/links/records/platform.device:meter-own-2", headers=admin)
    assert gone.status_code == 404

    # a person's unmerge of a pinned case site holds on the next run
    site, building = f"platform.case_site:{s['site_case']}", f"registry.building:{s['building']}"
    out = client.post("/api/v1/links/unmerge", json={"record_key": site, "reason": "地址误填"},
                      headers=admin)  # fmt: skip
    assert out.status_code == 200, out.text
    client.post("/api/v1/links/run", json={}, headers=admin)
    assert _golden(p, site) == out.json()["golden_id"] != _golden(p, building)

    # a window of one day still reads today's cases; max_cases 0 reads no cases or demands
    day = client.post("/api/v1/links/run", json={"case_days": 1}, headers=admin).json()
    assert day["stale_dropped"] == 0 and day["sources"]["platform.case"] == 1
    none = client.post("/api/v1/links/run", json={"max_cases": 0}, headers=admin).json()
    # the named case, the case at a building, the demand and the demand's own site (it was
    # filed at the enterprise's registered address, a registered building)
    assert none["stale_dropped"] == 4
    assert not {"platform.case", "platform.case_site", "platform.demand"} & set(none["sources"])


def test_bad_run_input_names_the_field(client: TestClient, platform: Platform) -> None:
    admin = login(client, "admin")
    for body, field in (
        ({"case_days": 0}, "case_days"),
        ({"max_cases": -1}, "max_cases"),
        ({"platform_sources": "sometimes"}, "platform_sources"),
        ({"records": [{"source": "platform.permit", "record_id": "X"}]}, "rows[1].source"),
    ):
        r = client.post("/api/v1/links/run", json=body, headers=admin)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == field, r.json()
    with pytest.raises(InputError) as err:
        resolution.run_linkage(platform, SYSTEM_ACTOR, limits=SourceLimits(case_days=99_999))
    assert err.value.field == "case_days"
    assert _count(platform) == 0


def test_credit_codes_are_found_in_text_but_not_id_numbers() -> None:
    code = "91310115MA1K4PLX44"
    assert credit_codes_in(f"企业代码：{code}，又写作{code.lower()}。") == [code]
    assert credit_codes_in("９１３１０１１５ＭＡ１Ｋ４ＰＬＸ４４") == [code]  # full width
    assert credit_codes_in("91310115MA1K4PLX45") == []  # wrong check character
    both = "110101197309237946"  # a valid resident ID that also passes the GB 32100 check
    assert credit_codes_in(f"身份证{both}") == []


def test_cli_run_with_and_without_platform_sources(
    loaded: Platform, sources: dict[str, Any]
) -> None:
    import json

    from typer.testing import CliRunner

    from civicloop.registry.resolution_cli import app

    p = loaded
    env = {"CIVICLOOP_DATABASE_URL": p.settings.database_url} if p.settings.database_url else {}
    d = ["--data-dir", str(p.settings.data_dir)]
    runner = CliRunner()
    r = runner.invoke(app, ["run", "--no-platform-sources", *d], env=env)
    assert r.exit_code == 0, r.output
    skipped = json.loads(r.output)
    assert skipped["platform_sources"] is False
    assert not any(k.startswith("platform.") for k in skipped["sources"])
    r = runner.invoke(app, ["run", "--case-days", "30", *d], env=env)
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    assert got["sources"]["platform.case"] == 1 and got["case_days"] == 30
    assert got["records"] > skipped["records"]
    r = runner.invoke(app, ["run", "--max-cases", "-5", *d], env=env)
    assert r.exit_code != 0 and "max_cases" in r.output


def test_case_pages_read_every_case_once(
    loaded: Platform, sources: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keyset pages of one case each, all reported at the same instant (the frozen clock):
    the ties are skipped by count, so the small pages read what one big page reads."""
    from civicloop.registry import resolution_sources as src

    whole = sorted(r.key for r in src.gather(loaded).records)
    monkeypatch.setattr(src, "_PAGE", 1)
    paged = [r.key for r in src.gather(loaded).records]
    assert sorted(paged) == whole and len(set(paged)) == len(paged)
    assert f"platform.case:{sources['case']}" in paged
    limited = src.gather(loaded, src.SourceLimits(max_cases=1)).counts
    assert limited["platform.case"] + limited["platform.case_site"] <= 1
