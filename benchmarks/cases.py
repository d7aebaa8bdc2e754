"""Benchmark: the case loop in the service layer, and case filing over HTTP vs a bare endpoint.

1. Walks N cases (default 10,000) through the whole loop in the service layer — report, accept,
   file, dispatch, sign, feedback, verify, close, follow-up — each step a real transaction with
   its ledger entry, on the embedded SQLite default.
2. Files cases through the HTTP API (uvicorn, bearer token, real server process) and, in the same
   run, calls a bare FastAPI endpoint that parses a JSON body of the same shape and answers JSON
   — the framework's ceiling on this machine. The headline baseline is an ``async def`` bare
   endpoint (the strict one); a plain ``def`` bare endpoint (run on the thread pool, as most
   FastAPI code is) is measured too and reported beside it.

Prints figures, then one JSON object on the last line:
steps_per_s, cases_per_s, http_per_s, bare_per_s, http_bare_ratio, http_p50_ms, http_p99_ms.
Targets (2 cores, SQLite): ≥ 3,000 steps/s; HTTP filing ≥ 30% of the bare endpoint.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from civicloop.cases import service
from civicloop.cases.model import Channel
from civicloop.core.settings import Settings
from civicloop.demo.generator import DEMO_PASSWORD, generate_district
from civicloop.org import service as org
from civicloop.runtime import Platform

ROUNDS = 3

BARE_APP = """
import sys, uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field
class Body(BaseModel):
    element_code: str = Field(max_length=16)
    description: str = Field(max_length=5000)
    lon: float
    lat: float
    channel: str = "app"
app = FastAPI()
@app.post("/bare")
async def bare(body: Body) -> dict:
    return {"id": "x", "status": "reported", **body.model_dump()}
@app.post("/bare-sync")
def bare_sync(body: Body) -> dict:
    return {"id": "x", "status": "reported", **body.model_dump()}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def _seed(p: Platform) -> None:
    bureaus = [(d.code, d.name, d.name_en, d.kind) for d in p.catalogue.departments.values()]
    org.seed_district(
        p,
        generate_district(seed=1, grids=400, communities=100, bureau_departments=bureaus),
        password=DEMO_PASSWORD,
    )


def _element(p: Platform):  # type: ignore[no-untyped-def]
    """An element that runs the full loop (on-site check and verification) led by a bureau."""
    handlers = {f"handler-{code}" for code in p.catalogue.departments}
    for e in p.catalogue.elements.values():
        if (
            e.needs_onsite_check
            and e.needs_verification
            and f"handler-{e.lead_department}" in handlers
        ):
            return e
    raise SystemExit("no suitable element in the catalogue")


def bench_loop(p: Platform, n: int) -> dict[str, float]:
    e = _element(p)
    who = {u: org.actor_for_user(p, u) for u in ("citizen", "operator", "dispatcher", "gridworker")}
    handler = org.actor_for_user(p, f"handler-{e.lead_department}")
    # Distinct problems at distinct places (60 m apart) in the grid worker's territory, so the
    # duplicate check files each report as a new case, as it would for real reports.
    spots = _spots(p, who["gridworker"].region_path)
    steps = 0
    t0 = time.perf_counter()
    for i in range(n):
        lon, lat = spots[i % len(spots)]
        case = service.report_case(
            p,
            who["citizen"],
            service.CaseDraft(
                element_code=e.code,
                description=f"基准测试第{i}件：{e.name}",
                channel=Channel.APP,
                lon=lon,
                lat=lat,
            ),
        )
        cid = case["id"]
        service.accept_case(p, who["operator"], cid)
        service.check_case(p, who["gridworker"], cid, is_valid=True)
        service.file_case(p, who["operator"], cid)
        service.dispatch_case(p, who["dispatcher"], cid)
        service.sign_case(p, handler, cid)
        service.feedback_case(p, handler, cid, text="已处置")
        service.verify_case(p, who["gridworker"], cid, passed=True)
        service.close_case(p, who["operator"], cid)
        service.follow_up_case(p, who["citizen"], cid, satisfaction="satisfied")
        steps += 10
        if (i + 1) % max(1, n // 10) == 0:
            el = time.perf_counter() - t0
            print(f"  {i + 1:>6} cases  {steps / el:,.0f} steps/s", file=sys.stderr)
    elapsed = time.perf_counter() - t0
    return {"steps_per_s": steps / elapsed, "cases_per_s": n / elapsed, "loop_s": elapsed}


def _spots(p: Platform, path: str, spacing_m: float = 60.0) -> list[tuple[float, float]]:
    """Points ``spacing_m`` apart on a lattice over the grids under ``path``."""
    import math

    from shapely.geometry import Point

    from civicloop.org.model import RegionLevel

    with p.db.read() as conn:
        grids = [
            g for g in org.list_regions(conn, level=RegionLevel.GRID) if g.path.startswith(path)
        ]
    found: list[tuple[float, float]] = []
    rng = random.Random(7)
    for g in grids:
        shape = p.grids.geometry(g.code)
        x0, y0, x1, y1 = shape.bounds
        dlat = spacing_m / 111_320.0
        dlon = dlat / math.cos(math.radians((y0 + y1) / 2))
        y = y0 + dlat / 2
        while y < y1:
            x = x0 + dlon / 2
            while x < x1:
                # jittered like real positions (a lattice row would share one latitude)
                jx = x + rng.uniform(-0.3, 0.3) * dlon
                jy = y + rng.uniform(-0.3, 0.3) * dlat
                if shape.contains(Point(jx, jy)):
                    found.append((jx, jy))
                x += dlon
            y += dlat
    assert found, "no grid under the grid worker's territory"
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            if c.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on {port} did not start")


_NEXT_BODY = [0]


def _load(
    port: int,
    path: str,
    bodies: list[bytes],
    headers: dict[str, str],
    total: int,
    threads: int,
) -> tuple[float, list[float], int]:
    """POST ``total`` requests from ``threads`` keep-alive clients; every request of every call
    takes the next body, so no two filings describe the same problem at the same place."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    per = total // threads
    start = _NEXT_BODY[0]
    _NEXT_BODY[0] += per * threads

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        bad = 0
        for i in range(per):
            body = bodies[(start + k * per + i) % len(bodies)]
            t = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t)
            if resp.status >= 300:
                bad += 1
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.perf_counter() - t0, latencies, errors[0]


def bench_http(data_dir: Path, p: Platform, requests: int, threads: int) -> dict[str, float]:
    e = _element(p)
    spots = _spots(p, "/", spacing_m=250.0)
    env = {**os.environ, "CIVICLOOP_SWEEP_INTERVAL_SECONDS": "0"}
    port, bare_port = _free_port(), _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "civicloop.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bare = subprocess.Popen(
        [sys.executable, "-c", BARE_APP, str(bare_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(port, "/healthz")
        _wait(bare_port, "/docs")
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request(
            "POST",
            "/api/v1/auth/login",
            body=json.dumps({"username": "citizen", "password": DEMO_PASSWORD}),
            headers={"Content-Type": "application/json"},
        )
        token = json.loads(c.getresponse().read())["access_token"]
        # one body per place (the same shape for both endpoints): distinct problems, so the
        # duplicate check files each as a new case
        body = [
            json.dumps(
                {
                    "element_code": e.code,
                    "description": "路面有破损，请尽快修复。",
                    "lon": x,
                    "lat": y,
                    "channel": "app",
                }
            ).encode()
            for x, y in spots
        ]
        json_h = {"Content-Type": "application/json"}
        _load(bare_port, "/bare", body, json_h, 200, threads)  # warm-up
        _load(
            port,
            "/api/v1/cases",
            body,
            {**json_h, "Authorization": f"Bearer {token}"},
            100,
            threads,
        )
        # Alternate the two endpoints over several rounds and keep the median of each: the
        # client shares the two cores with the server, so single runs swing by ±30%.
        auth_h = {**json_h, "Authorization": f"Bearer {token}"}
        bare_rates: list[float] = []
        sync_rates: list[float] = []
        http_rates: list[float] = []
        lat_s: list[float] = []
        for _ in range(ROUNDS):
            bare_s, _, bare_err = _load(bare_port, "/bare", body, json_h, requests, threads)
            http_s, lats, http_err = _load(port, "/api/v1/cases", body, auth_h, requests, threads)
            if http_err or bare_err:
                raise SystemExit(f"errors during the load: http={http_err} bare={bare_err}")
            done = (requests // threads) * threads
            bare_rates.append(done / bare_s)
            sync_s, _, sync_err = _load(bare_port, "/bare-sync", body, json_h, requests, threads)
            if sync_err:
                raise SystemExit(f"errors on the sync bare endpoint: {sync_err}")
            sync_rates.append(done / sync_s)
            http_rates.append(done / http_s)
            lat_s += lats
    finally:
        for proc in (server, bare):
            proc.terminate()
            proc.wait(10)
    lat_ms = sorted(x * 1000 for x in lat_s)
    return {
        "http_per_s": statistics.median(http_rates),
        "bare_per_s": statistics.median(bare_rates),
        "bare_sync_per_s": statistics.median(sync_rates),
        "http_p50_ms": statistics.median(lat_ms),
        "http_p99_ms": lat_ms[int(len(lat_ms) * 0.99) - 1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=2_000, help="per round (3 rounds)")
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="civicloop-bench-") as tmp:
        data_dir = Path(tmp)
        p = Platform.open(
            Settings.from_env(data_dir=data_dir, database_url="", sweep_interval_seconds=0)
        )
        _seed(p)
        print(
            f"service layer: walking {args.cases:,} cases through the loop (SQLite, "
            f"synchronous={p.settings.sqlite_synchronous})",
            file=sys.stderr,
        )
        loop = bench_loop(p, args.cases)
        print(
            f"  {loop['steps_per_s']:,.0f} steps/s, {loop['cases_per_s']:,.0f} complete cases/s "
            f"(target ≥ 3,000 steps/s)"
        )
        print(
            f"HTTP: {args.requests:,} case filings vs the bare endpoint, {args.threads} client threads",
            file=sys.stderr,
        )
        web = bench_http(data_dir, p, args.requests, args.threads)
        p.close()
    ratio = web["http_per_s"] / web["bare_per_s"]
    sync_ratio = web["http_per_s"] / web["bare_sync_per_s"]
    print(
        f"  case filing {web['http_per_s']:,.0f} req/s (p50 {web['http_p50_ms']:.1f} ms, "
        f"p99 {web['http_p99_ms']:.1f} ms); bare endpoint {web['bare_per_s']:,.0f} req/s; "
        f"ratio {ratio:.2f} (target ≥ 0.30); against a plain `def` bare endpoint "
        f"({web['bare_sync_per_s']:,.0f} req/s, run on the thread pool) {sync_ratio:.2f}"
    )
    print(
        json.dumps(
            {
                "steps_per_s": round(loop["steps_per_s"], 1),
                "cases_per_s": round(loop["cases_per_s"], 1),
                "http_per_s": round(web["http_per_s"], 1),
                "bare_per_s": round(web["bare_per_s"], 1),
                "http_bare_ratio": round(ratio, 3),
                "bare_sync_per_s": round(web["bare_sync_per_s"], 1),
                "http_bare_sync_ratio": round(sync_ratio, 3),
                "http_p50_ms": round(web["http_p50_ms"], 2),
                "http_p99_ms": round(web["http_p99_ms"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
