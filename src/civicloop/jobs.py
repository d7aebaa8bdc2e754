"""The periodic work of a served platform, in one place.

``civicloop serve`` runs each job below on its own thread and interval: the SLA sweep, the KPI
and risk ledger consumers (so dashboards and scores follow the loop within seconds), the
discovery tick (silent devices, emergency-mode expiry), the readings compaction, the
group-renting detector over base data and the hourly signed ledger checkpoint. Every job is
safe to run in several processes at once (the sweeper takes work with row locks, consumers
move a cursor inside their transaction, checkpoints are idempotent per tree size, a room
alerted recently is not alerted again), so scaling out needs no leader election.

A job that raises is logged and retried at its next interval: one bad batch never stops the
loop. Intervals of 0 switch a job off (tests and one-shot CLI runs).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from civicloop.runtime import Platform

log = logging.getLogger("civicloop.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    interval_seconds: float
    run: Callable[[Platform], Any]


def _sweep(p: Platform) -> Any:
    """Overdue steps first, then supervision orders past their own deadline."""
    from civicloop.cases.sla import sweep
    from civicloop.supervision.service import escalate_overdue_orders

    result = sweep(p)
    escalate_overdue_orders(p)
    return result


def _kpi(p: Platform) -> Any:
    from civicloop.evaluation.service import consume

    return consume(p)


def _risk(p: Platform) -> Any:
    from civicloop.risk.service import consume

    return consume(p)


def _discovery(p: Platform) -> Any:
    from civicloop.discovery.rules import tick

    return tick(p)


def _compact(p: Platform) -> Any:
    from civicloop.discovery.service import compact_readings

    return compact_readings(p)


def _group_renting(p: Platform) -> Any:
    from civicloop.registry.group_renting import detect_group_renting

    return detect_group_renting(p)


def _checkpoint(p: Platform) -> Any:
    from civicloop.ledger.checkpoints import create_checkpoint

    return create_checkpoint(p)


def default_jobs(p: Platform) -> list[Job]:
    """The jobs of a served platform, with their intervals from settings."""
    s = p.settings
    return [
        Job("sla-sweep", s.sweep_interval_seconds, _sweep),
        Job("kpi-consumer", s.consumer_interval_seconds, _kpi),
        Job("risk-consumer", s.consumer_interval_seconds, _risk),
        Job("discovery-tick", s.sweep_interval_seconds, _discovery),
        Job("readings-compaction", 3600, _compact),
        Job("group-renting", s.detector_interval_seconds, _group_renting),
        Job("ledger-checkpoint", s.checkpoint_interval_seconds, _checkpoint),
    ]


class PeriodicThread:
    """Runs one job every ``interval_seconds`` until stopped (a daemon thread)."""

    def __init__(self, p: Platform, job: Job) -> None:
        self.p = p
        self.job = job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=job.name, daemon=True)

    def start(self) -> None:
        if self.job.interval_seconds > 0:
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.job.interval_seconds):
            try:
                self.job.run(self.p)
            except Exception:  # the loop must outlive one bad run; the next interval retries
                log.exception("job %s failed", self.job.name)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


class Jobs:
    """Every periodic job of a served platform, started and stopped together."""

    def __init__(self, p: Platform, jobs: list[Job] | None = None) -> None:
        self.threads = [PeriodicThread(p, j) for j in (jobs or default_jobs(p))]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        for t in self.threads:
            t._stop.set()
        for t in self.threads:
            t.stop()
