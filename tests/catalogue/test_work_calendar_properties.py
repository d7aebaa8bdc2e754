"""Property tests of the work calendar (run when hypothesis is installed).

The deterministic twin, ``test_working_time_between_inverts_add_working_time`` in
``test_work_calendar.py``, runs everywhere with a fixed seed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from civicloop.catalogue.calendar import load_calendar  # noqa: E402

CAL = load_calendar()
starts = st.datetimes(
    min_value=datetime(2024, 12, 1), max_value=datetime(2027, 2, 1), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=400))


@settings(max_examples=300, deadline=None)
@given(start=starts, duration=durations)
def test_add_then_measure_gives_the_duration_back(start: datetime, duration: timedelta) -> None:
    due = CAL.add_working_time(start, duration)
    assert due >= start
    assert CAL.working_time_between(start, due) == duration
    if duration:
        assert CAL.working_time_between(start, due - timedelta(microseconds=1)) < duration


@settings(max_examples=300, deadline=None)
@given(a=starts, b=starts, c=starts)
def test_working_time_is_additive_and_antisymmetric(a: datetime, b: datetime, c: datetime) -> None:
    ab, bc = CAL.working_time_between(a, b), CAL.working_time_between(b, c)
    assert ab + bc == CAL.working_time_between(a, c)
    assert CAL.working_time_between(b, a) == -ab
    assert abs(ab) <= abs(b - a)
