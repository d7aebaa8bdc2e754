"""Benchmark: the big screen's load time in Debian's Chromium over the demo district.

Sets up the default demo district (``civicloop demo --no-serve``: 4,000 grids, ~1,300
communities, 300 cases over 30 days) in a temporary data directory, serves it with
``civicloop serve``, and loads ``/console/screen`` in a headless Chromium (1366×768) logged in
as the shift chief. A load is timed from navigation start to the page's ``screen-ready``
performance mark, which the page sets once the map has drawn streets, communities and case
markers and every ECharts chart holds its data (see ``static/js/screen.js``).

- cold: a fresh browser context per load (empty HTTP cache: every script, outline and figure
  fetched again; ECharts alone is ~1.1 MB of JavaScript);
- warm: reloads in one context (scripts cached; the data requests are made again).

Baseline in the same run: the login page (a shell with no data) to its ``load`` event, cold.

Server side, in this process over the same data directory: ``screen.overview`` (the figures
from the evaluation rollups, open cases only) against the previous implementation kept here as
the baseline (every case in the viewer's scope read with ``list_cases(limit=100_000)`` and
counted in Python), median of ``--loads`` calls each, as the shift chief. ``--closed N`` first
adds N copies of the demo's closed cases to the (fresh) directory and recomputes the rollups —
a district with a long history — after the browser part.

Prints figures, then one JSON object on the last line: load_ms (p50 of warm loads, the
headline), load_cold_ms, load_p90_ms, login_page_ms, screen_login_ratio, overview_ms,
overview_case_list_ms, overview_speedup_ratio. Target: load_ms < 1,500 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "civicloop-demo-2026"
READY = """() => {
  const mark = performance.getEntriesByName("screen-ready")[0];
  return mark ? mark.startTime : null;
}"""


def _cli() -> list[str]:
    exe = shutil.which("civicloop")
    return [exe] if exe else [sys.executable, "-m", "civicloop.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(url: str, username: str) -> str:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    req = urllib.request.Request(
        f"{url}/api/v1/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return str(json.loads(r.read())["access_token"])


def _serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "CIVICLOOP_DATA_DIR": str(data_dir)}
    env.pop("CIVICLOOP_DATABASE_URL", None)
    port = _free_port()
    proc = subprocess.Popen(
        [*_cli(), "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("civicloop serve did not start")


def _load(context: Any, url: str, page: Any | None = None) -> float:
    page = page or context.new_page()
    page.goto(f"{url}/console/screen", wait_until="commit")
    page.wait_for_function(READY, timeout=60_000)
    ms = float(page.evaluate(READY))
    errors = page.evaluate("() => window.__screen && window.__screen.counts")
    if not errors or not errors.get("markers"):
        raise SystemExit("the screen became ready without markers")
    return ms


def _add_closed(data_dir: Path, n: int) -> None:
    """``--closed N``: copies of the demo's closed cases (new ids, numbers and tracking codes),
    written straight into the benchmark's own database — a district with a long history,
    where most cases are closed. The rollups are then recomputed from them."""
    import sqlite3

    db = sqlite3.connect(data_dir / "civicloop.db")
    try:
        db.row_factory = sqlite3.Row
        closed = [
            dict(r)
            for r in db.execute("SELECT * FROM cases WHERE status IN ('closed', 'followed_up')")
        ]
        cols = list(closed[0])
        sql = f"INSERT INTO cases ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        rows = []
        for i in range(n):
            row = dict(closed[i % len(closed)])
            row.update(id=f"bench{i:027d}", number=f"B{i:012d}", tracking_code=f"T{i:012d}",
                       master_case_id=None)  # fmt: skip
            rows.append(tuple(row[c] for c in cols))
        db.executemany(sql, rows)
        db.commit()
    finally:
        db.close()


def _case_list_overview(p: Any, actor: Any) -> int:
    """The previous ``screen.overview`` (before the rollups): every case in scope read as rows
    and counted five ways in Python, plus the parts both versions share (markers, alerts,
    emergency modes). The baseline."""
    from collections import Counter

    from civicloop.cases import queries
    from civicloop.web import screen

    items, _ = queries.list_cases(p, actor, queries.CaseFilter(), limit=100_000)
    cases = [c for c in items if c["status"] not in ("voided", "merged")]
    counts: Counter[str] = Counter()
    for c in cases:
        counts[f"scene:{c['scene_code']}"] += 1
        counts[f"street:{c['street_code']}"] += 1
        counts[f"dept:{c['lead_department']}"] += 1
        counts[f"day:{c['reported_at'].date()}"] += 1
        counts[f"community:{(c['grid_code'] or '')[:12]}"] += 1
        counts["closed"] += c["status"] in ("closed", "followed_up")
        counts["rated"] += bool(c.get("satisfaction"))
    opened = [c for c in cases if c["status"] not in ("closed", "followed_up")]
    screen._markers(p, opened[: screen.MAX_MARKERS])
    screen._alerts(p, actor)
    screen._emergency(p)
    return len(cases)


def _server_side(data_dir: Path, loads: int, closed: int) -> dict[str, float]:
    """Median time of the screen's overview (rollups) and of the case-list baseline."""
    from civicloop.core.settings import Settings
    from civicloop.evaluation import service as kpi
    from civicloop.org import service as org
    from civicloop.runtime import Platform
    from civicloop.web import screen

    if closed:
        t0 = time.perf_counter()
        _add_closed(data_dir, closed)
        print(f"{closed} closed cases added in {time.perf_counter() - t0:.1f} s")
    p = Platform.open(Settings(data_dir=data_dir, sweep_interval_seconds=0))
    try:
        kpi.consume(p)  # the rollups as the server's kpi-consumer job keeps them
        if closed:
            t0 = time.perf_counter()
            kpi.recompute(p)
            print(f"rollups recomputed in {time.perf_counter() - t0:.1f} s")
        actor = org.actor_for_user(p, "chief")
        screen.overview(p, actor)  # names and centroids cached, as in a serving process
        new, old = [], []
        for _ in range(loads):
            t0 = time.perf_counter()
            screen.overview(p, actor)
            new.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            n = _case_list_overview(p, actor)
            old.append((time.perf_counter() - t0) * 1000)
    finally:
        p.close()
    return {"overview_ms": statistics.median(new), "case_list_ms": statistics.median(old),
            "cases": float(n)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loads", type=int, default=7, help="timed loads per mode")
    ap.add_argument("--data-dir", type=Path, help="reuse a demo data directory")
    ap.add_argument(
        "--closed",
        type=int,
        default=0,
        help="server side only: add this many closed cases first (a fresh directory only)",
    )
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = None
    data_dir = args.data_dir
    if data_dir is None:
        tmp = tempfile.mkdtemp(prefix="console-bench-")
        data_dir = Path(tmp)
    if not (data_dir / "civicloop.db").exists():
        t0 = time.perf_counter()
        subprocess.run(
            [*_cli(), "demo", "--data-dir", str(data_dir), "--no-serve"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"demo district generated in {time.perf_counter() - t0:.1f} s")
    proc, url = _serve(data_dir)
    try:
        token = _token(url, "chief")
        init = f"sessionStorage.setItem('civicloop.token', {json.dumps(token)});"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            opts = {"viewport": {"width": 1366, "height": 768}, "locale": "zh-CN"}

            # warm-up: the server simplifies outlines and loads its caches once
            ctx = browser.new_context(**opts)
            ctx.add_init_script(init)
            _load(ctx, url)
            ctx.close()

            login_ms = []
            for _ in range(args.loads):
                ctx = browser.new_context(**opts)
                page = ctx.new_page()
                page.goto(f"{url}/login", wait_until="load")
                login_ms.append(
                    float(
                        page.evaluate(
                            "() => performance.getEntriesByType('navigation')[0].loadEventEnd"
                        )
                    )
                )
                ctx.close()

            cold = []
            for _ in range(args.loads):
                ctx = browser.new_context(**opts)
                ctx.add_init_script(init)
                cold.append(_load(ctx, url))
                ctx.close()

            warm = []
            ctx = browser.new_context(**opts)
            ctx.add_init_script(init)
            page = ctx.new_page()
            _load(ctx, url, page)
            for _ in range(args.loads):
                warm.append(_load(ctx, url, page))
            ctx.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    try:
        server = _server_side(data_dir, args.loads, args.closed if tmp else 0)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    def p(xs: list[float], q: float) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]

    load_ms = statistics.median(warm)
    cold_ms = statistics.median(cold)
    login = statistics.median(login_ms)
    print(f"login page (baseline, cold):  p50 {login:7.0f} ms")
    print(f"big screen, cold context:     p50 {cold_ms:7.0f} ms   p90 {p(cold, 0.9):7.0f} ms")
    print(f"big screen, warm reloads:     p50 {load_ms:7.0f} ms   p90 {p(warm, 0.9):7.0f} ms")
    print(f"screen/login ratio (warm p50): {load_ms / login:.1f}   target load_ms < 1500")
    speedup = server["case_list_ms"] / max(server["overview_ms"], 1e-6)
    print(
        f"overview (rollups, open cases): p50 {server['overview_ms']:7.1f} ms;"
        f" baseline (all {server['cases']:.0f} cases listed): p50 {server['case_list_ms']:7.1f} ms;"
        f" ratio {speedup:.2f}"
    )
    print(
        json.dumps(
            {
                "load_ms": round(load_ms, 1),
                "load_cold_ms": round(cold_ms, 1),
                "load_p90_ms": round(p(warm, 0.9), 1),
                "login_page_ms": round(login, 1),
                "screen_login_ratio": round(load_ms / login, 2),
                "overview_ms": round(server["overview_ms"], 1),
                "overview_case_list_ms": round(server["case_list_ms"], 1),
                "overview_speedup_ratio": round(speedup, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
