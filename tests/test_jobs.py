"""Every periodic job of a served platform runs against a real platform without failing, and
the job runner starts and stops its threads."""

from __future__ import annotations

import time

from civicloop.jobs import Job, Jobs, default_jobs
from civicloop.runtime import Platform


def test_every_default_job_runs_once(platform: Platform) -> None:
    jobs = default_jobs(platform)
    assert {j.name for j in jobs} >= {
        "sla-sweep",
        "kpi-consumer",
        "risk-consumer",
        "discovery-tick",
        "readings-compaction",
        "group-renting",
        "ledger-checkpoint",
    }
    for job in jobs:
        job.run(platform)  # raises if the wiring to its context is wrong


def test_runner_repeats_a_job_and_outlives_a_failure(platform: Platform) -> None:
    calls: list[str] = []

    def ok(p: Platform) -> None:
        calls.append("ok")

    def bad(p: Platform) -> None:
        calls.append("bad")
        raise RuntimeError("one bad batch")

    runner = Jobs(platform, [Job("ok", 0.01, ok), Job("bad", 0.01, bad), Job("off", 0, ok)])
    runner.start()
    deadline = time.monotonic() + 10
    while (calls.count("ok") < 3 or calls.count("bad") < 3) and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.stop()
    assert calls.count("ok") >= 3 and calls.count("bad") >= 3
    assert not any(t._thread.is_alive() for t in runner.threads)
