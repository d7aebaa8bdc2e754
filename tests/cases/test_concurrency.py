"""Optimistic concurrency: two dispatchers at once — one wins, the other gets 409, nothing lost."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from civicloop.cases import service
from civicloop.core.errors import CivicError, StaleVersionError
from civicloop.core.settings import Settings
from civicloop.ledger.service import verify
from civicloop.org.service import actor_for_user
from civicloop.runtime import Platform
from tests.helpers import element, login, report_body


def _filed_case(client: TestClient, platform: Platform) -> dict[str, Any]:
    cid = client.post(
        "/api/v1/cases",
        json=report_body(platform, element(platform, check=False)),
        headers=login(client, "citizen"),
    ).json()["id"]
    chief = login(client, "chief")
    client.post(f"/api/v1/cases/{cid}/accept", headers=chief)
    return client.post(f"/api/v1/cases/{cid}/file", headers=chief).json()


def test_stale_version_is_refused_over_http(client: TestClient, platform: Platform) -> None:
    case = _filed_case(client, platform)
    a, b = login(client, "dispatcher"), login(client, "chief")
    seen = case["version"]
    first = client.post(
        f"/api/v1/cases/{case['id']}/dispatch", json={"expected_version": seen}, headers=a
    )
    second = client.post(
        f"/api/v1/cases/{case['id']}/dispatch", headers={**b, "If-Match": str(seen)}
    )
    assert first.status_code == 200
    assert second.status_code == 409 and second.json()["code"] == "case.stale_version"


def _dispatch_in_process(
    data_dir: str,
    database_url: str,
    case_id: str,
    username: str,
    version: int,
    barrier: Any,
    out: Any,
) -> None:
    p = Platform.open(
        Settings(data_dir=Path(data_dir), database_url=database_url), migrate_schema=False
    )
    actor = actor_for_user(p, username)
    barrier.wait()
    try:
        service.dispatch_case(p, actor, case_id, expected_version=version)
        out.put((username, "ok"))
    except StaleVersionError:
        out.put((username, "stale"))
    except CivicError as exc:
        out.put((username, exc.code))
    finally:
        p.close()


def test_two_processes_dispatch_at_once_one_wins(client: TestClient, platform: Platform) -> None:
    case = _filed_case(client, platform)
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(
            target=_dispatch_in_process,
            args=(
                str(platform.settings.data_dir),
                platform.settings.database_url,
                case["id"],
                who,
                case["version"],
                barrier,
                out,
            ),
        )
        for who in ("dispatcher", "chief")
    ]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(60)
    results = sorted(out.get(timeout=5)[1] for _ in procs)
    assert results == ["ok", "stale"]
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=login(client, "chief")).json()
    assert detail["status"] == "dispatched" and detail["version"] == case["version"] + 1
    timeline = client.get(
        f"/api/v1/cases/{case['id']}/timeline", headers=login(client, "chief")
    ).json()
    assert [t["action"] for t in timeline].count("case.dispatched") == 1
    assert verify(platform.db).ok
