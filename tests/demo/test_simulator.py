"""The demo simulator walks cases through the real services, with a month of history."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from civicloop.cases.store import cases
from civicloop.demo.simulator import simulate
from civicloop.ledger.service import verify
from civicloop.runtime import Platform


def test_simulated_cases_cover_the_loop_and_keep_the_ledger_intact(platform: Platform) -> None:
    now = platform.clock.now()
    result = simulate(platform, count=60, seed=3)
    assert result.cases == 60 and sum(result.by_status.values()) == 60
    assert result.by_status.get("followed_up", 0) > 0
    assert len(result.by_status) >= 4  # cases stop at several stages
    assert platform.clock.now() == now  # the real clock is back
    with platform.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(cases)).scalar() == 60
        first, last = conn.execute(
            select(func.min(cases.c.reported_at), func.max(cases.c.reported_at))
        ).one()
    assert now - timedelta(days=30) <= first < last <= now
    assert verify(platform.db).ok
