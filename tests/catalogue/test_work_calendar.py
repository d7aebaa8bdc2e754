"""Work-calendar arithmetic and the calendar file (data/calendars/cn.yaml)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from civicloop.catalogue.calendar import WorkCalendar, due_at, elapsed, load_calendar
from civicloop.catalogue.model import ClockMode, DeadlineClass
from civicloop.core.errors import CatalogueError

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return load_calendar()


# -- working days ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 3, 6), True),  # an ordinary Friday
        (date(2026, 3, 7), False),  # an ordinary Saturday
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 7), False),  # last day of the National Day holiday
        (date(2026, 10, 10), True),  # make-up Saturday
        (date(2026, 9, 20), True),  # make-up Sunday
        (date(2026, 1, 4), True),  # make-up Sunday after New Year
        (date(2026, 1, 2), False),  # New Year holiday on a Friday
        (date(2026, 2, 14), True),  # make-up Saturday before Spring Festival
        (date(2026, 2, 23), False),  # Spring Festival Monday
        (date(2025, 10, 8), False),  # 2025 National Day + Mid-Autumn
        (date(2025, 10, 11), True),  # 2025 make-up Saturday
    ],
)
def test_is_working_day(cal: WorkCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working


def test_the_packaged_file_covers_2025_and_2026(cal: WorkCalendar) -> None:
    assert cal.known_years == {2025, 2026}
    assert cal.tz == "Asia/Shanghai"
    assert cal.working_day_length == 8 * H
    assert len([d for d in cal.holidays if d.year == 2026]) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert {d for d in cal.workdays if d.year == 2026} == {
        date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
        date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10),
    }  # fmt: skip


# -- add_working_time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "duration", "due", "why"),
    [
        (sh(2026, 3, 2, 9), 2 * H, sh(2026, 3, 2, 11), "inside the morning period"),
        (sh(2026, 3, 2, 11), 2 * H, sh(2026, 3, 2, 15), "skips lunch"),
        (sh(2026, 3, 2, 10), 2 * H, sh(2026, 3, 2, 12), "ends exactly at 12:00, not 14:00"),
        (sh(2026, 3, 2, 16), 2 * H, sh(2026, 3, 2, 18), "ends exactly at 18:00"),
        (sh(2026, 3, 2, 14), 4 * H, sh(2026, 3, 2, 18), "a whole afternoon"),
        (sh(2026, 3, 2, 7), 1 * H, sh(2026, 3, 2, 9), "before hours: counts from 08:00"),
        (sh(2026, 3, 2, 12, 30), 1 * H, sh(2026, 3, 2, 15), "at lunch: counts from 14:00"),
        (sh(2026, 3, 2, 12), 30 * M, sh(2026, 3, 2, 14, 30), "exactly at 12:00"),
        (sh(2026, 3, 2, 18), 30 * M, sh(2026, 3, 3, 8, 30), "exactly at 18:00"),
        (sh(2026, 3, 2, 20), 1 * H, sh(2026, 3, 3, 9), "evening: next morning"),
        (sh(2026, 3, 2, 23, 59), 8 * H, sh(2026, 3, 3, 18), "one working day from midnight"),
        (sh(2026, 3, 6, 17), 2 * H, sh(2026, 3, 9, 9), "across a weekend"),
        (sh(2026, 3, 7, 10), 1 * H, sh(2026, 3, 9, 9), "starts on a Saturday"),
        (sh(2026, 3, 2, 9), 24 * H, sh(2026, 3, 5, 9), "3 working days of 8 h"),
        (sh(2026, 3, 2, 9), 80 * H, sh(2026, 3, 16, 9), "10 working days: two weekends"),
        (sh(2026, 9, 30, 17), 2 * H, sh(2026, 10, 8, 9), "across National Day"),
        (sh(2026, 10, 9, 17), 2 * H, sh(2026, 10, 10, 9), "into the make-up Saturday"),
        (sh(2025, 12, 31, 17), 2 * H, sh(2026, 1, 4, 9), "into the make-up Sunday 2026-01-04"),
        (sh(2026, 2, 14, 17), 2 * H, sh(2026, 2, 24, 9), "across Spring Festival"),
        (sh(2026, 9, 18, 17), 2 * H, sh(2026, 9, 20, 9), "skips Saturday, works Sunday"),
        (sh(2026, 9, 24, 17), 2 * H, sh(2026, 9, 28, 9), "Mid-Autumn then a weekend"),
        (sh(2026, 9, 28, 9), 80 * H, sh(2026, 10, 16, 9), "10 days over the Golden Week"),
    ],
)
def test_add_working_time(
    cal: WorkCalendar, start: datetime, duration: timedelta, due: datetime, why: str
) -> None:
    result = cal.add_working_time(start, duration)
    assert result == due, why
    assert result.tzinfo is UTC


def test_start_given_in_utc_is_counted_from_local_time(cal: WorkCalendar) -> None:
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert cal.add_working_time(start, H) == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    # 23:00 UTC on Monday is 07:00 on Tuesday in Shanghai: the local day is the one counted.
    late = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    assert cal.add_working_time(late, H) == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    # 2026-10-09 16:30 UTC is Saturday 00:30 in Shanghai, a make-up working day.
    friday_night = datetime(2026, 10, 9, 16, 30, tzinfo=UTC)
    assert cal.add_working_time(friday_night, H) == sh(2026, 10, 10, 9)


def test_other_zones_and_microseconds(cal: WorkCalendar) -> None:
    berlin = datetime(2026, 3, 2, 2, 0, 0, 500, tzinfo=ZoneInfo("Europe/Berlin"))  # 09:00 SH
    assert cal.add_working_time(berlin, H) == sh(2026, 3, 2, 10) + timedelta(microseconds=500)


def test_zero_duration_returns_the_start_and_negative_is_refused(cal: WorkCalendar) -> None:
    evening = sh(2026, 3, 2, 20)
    assert cal.add_working_time(evening, timedelta(0)) == evening
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_time(evening, -H)


def test_naive_datetimes_are_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add_working_time(datetime(2026, 3, 2, 9), H)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.working_time_between(datetime(2026, 3, 2, 9), sh(2026, 3, 2, 10))


def test_a_year_outside_the_file_has_weekends_only(cal: WorkCalendar) -> None:
    assert not cal.is_known_year(2030)
    assert cal.is_working_day(date(2030, 10, 1))  # a Tuesday; no holiday known for 2030
    assert not cal.is_working_day(date(2030, 10, 5))  # a Saturday
    assert cal.add_working_time(sh(2030, 9, 30, 17), 2 * H) == sh(2030, 10, 1, 9)


# -- due_at: urgent (clock) versus normal (working) -----------------------------------------------


def test_clock_and_working_deadlines_differ_for_the_same_duration(cal: WorkCalendar) -> None:
    urgent = DeadlineClass("urgent_2h", "紧急2小时", ClockMode.CLOCK, 2 * H)
    normal = DeadlineClass("work_2h", "一般2工作小时", ClockMode.WORKING, 2 * H)
    assert urgent.is_urgent and not normal.is_urgent
    friday = sh(2026, 3, 6, 17)
    assert due_at(friday, urgent, cal) == sh(2026, 3, 6, 19)
    assert due_at(friday, normal, cal) == sh(2026, 3, 9, 9)
    holiday_night = sh(2026, 10, 1, 23)
    assert due_at(holiday_night, urgent, cal) == sh(2026, 10, 2, 1)
    assert due_at(holiday_night, normal, cal) == sh(2026, 10, 8, 10)
    assert due_at(friday, urgent, cal).tzinfo is UTC


def test_clock_deadlines_are_absolute_across_daylight_saving(cal: WorkCalendar) -> None:
    # Berlin moved its clocks forward at 02:00 on 2026-03-29: 01:30 + 2 h is 04:30 local.
    urgent = DeadlineClass("urgent_2h", "紧急2小时", ClockMode.CLOCK, 2 * H)
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 29, 1, 30, tzinfo=berlin)
    due = due_at(start, urgent, cal)
    assert due == datetime(2026, 3, 29, 4, 30, tzinfo=berlin)
    assert elapsed(start, due.astimezone(berlin), ClockMode.CLOCK, cal) == 2 * H


def test_elapsed_counts_the_way_the_deadline_does(cal: WorkCalendar) -> None:
    a, b = sh(2026, 3, 6, 17), sh(2026, 3, 9, 9)
    assert elapsed(a, b, ClockMode.CLOCK, cal) == 64 * H
    assert elapsed(a, b, ClockMode.WORKING, cal) == 2 * H


# -- working_time_between ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (sh(2026, 3, 2, 9), sh(2026, 3, 2, 11), 2 * H),
        (sh(2026, 3, 2, 11), sh(2026, 3, 2, 15), 2 * H),
        (sh(2026, 3, 2, 12, 10), sh(2026, 3, 2, 13, 50), timedelta(0)),
        (sh(2026, 3, 6, 17), sh(2026, 3, 9, 9), 2 * H),
        (sh(2026, 3, 2, 0), sh(2026, 3, 9, 0), 40 * H),
        (sh(2026, 9, 30, 17), sh(2026, 10, 8, 9), 2 * H),
        (sh(2026, 10, 9, 8), sh(2026, 10, 11, 8), 16 * H),
        (sh(2026, 1, 1), sh(2027, 1, 1), 248 * 8 * H),
    ],
)
def test_working_time_between(
    cal: WorkCalendar, a: datetime, b: datetime, expected: timedelta
) -> None:
    assert cal.working_time_between(a, b) == expected
    assert cal.working_time_between(b, a) == -expected


def test_2026_has_the_published_number_of_working_days(cal: WorkCalendar) -> None:
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    # 365 days - 104 weekend days - 13 statutory holiday days (since 2025) = 248; equally,
    # 261 weekdays - 19 holiday days on weekdays + 6 make-up weekend days.
    assert sum(cal.is_working_day(d) for d in days) == 248 == 261 - 19 + 6


def test_working_time_between_inverts_add_working_time(cal: WorkCalendar) -> None:
    rng = random.Random(20260101)
    base = sh(2024, 12, 1)
    for _ in range(3000):
        start = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 800))
        if rng.random() < 0.3:
            start = start.astimezone(UTC)
        duration = timedelta(minutes=rng.randrange(0, 60 * 200))
        due = cal.add_working_time(start, duration)
        assert due >= start
        assert cal.working_time_between(start, due) == duration, (start, duration)
        if duration:  # the earliest such instant: a moment earlier is not enough
            step = timedelta(microseconds=1)
            assert cal.working_time_between(start, due - step) < duration
        end = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 30))
        assert cal.add_working_time(start, cal.working_time_between(start, end)) <= end


# -- WorkCalendar without a file -----------------------------------------------------------------


def test_a_plain_calendar_has_weekends_only_and_custom_periods() -> None:
    plain = WorkCalendar()
    assert plain.is_working_day(date(2026, 10, 1)) and not plain.is_working_day(date(2026, 10, 3))
    single = WorkCalendar(tz="UTC", periods=((time(9), time(17)),))
    start = datetime(2026, 3, 6, 16, tzinfo=UTC)
    assert single.add_working_time(start, 2 * H) == datetime(2026, 3, 9, 10, tzinfo=UTC)
    assert single.working_day_length == 8 * H


@pytest.mark.parametrize(
    "periods",
    [(), ((time(12), time(8)),), ((time(8), time(12)), (time(11), time(13)))],
)
def test_bad_periods_are_refused(periods: tuple[tuple[time, time], ...]) -> None:
    with pytest.raises(ValueError, match="period"):
        WorkCalendar(periods=periods)


def test_a_day_cannot_be_holiday_and_workday() -> None:
    day = date(2026, 10, 10)
    with pytest.raises(ValueError, match="both"):
        WorkCalendar(holidays=frozenset({day}), workdays=frozenset({day}))


# -- the calendar file -----------------------------------------------------------------------------

GOOD = """\
timezone: Asia/Shanghai
working_hours:
  - ["08:00", "12:00"]
  - ["14:00", "18:00"]
years:
  2026:
    holidays:
      - {name: 国庆节, days: [2026-10-01, 2026-10-07]}
    workdays:
      - {name: 国庆节调休上班, day: 2026-10-10}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cal.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(CatalogueError) as info:
        load_calendar(path)
    return info.value.problems


def test_a_small_file_loads(tmp_path: Path) -> None:
    cal = load_calendar(write(tmp_path, GOOD))
    assert cal.known_years == {2026} and len(cal.holidays) == 7
    assert cal.is_working_day(date(2026, 10, 10))


def test_single_day_holidays(tmp_path: Path) -> None:
    text = GOOD.replace("days: [2026-10-01, 2026-10-07]", "days: [2026-10-01]")
    assert load_calendar(write(tmp_path, text)).holidays == {date(2026, 10, 1)}


def test_unquoted_times_are_explained(tmp_path: Path) -> None:
    found = problems(write(tmp_path, GOOD.replace('["08:00", "12:00"]', "[08:00, 12:00]")))
    assert len(found) == 1
    assert found[0].startswith("cal.yaml: working_hours[0]: bad period")
    assert "read as a base-60 number" in found[0]
    assert "quote the times" in found[0] and "[line 3]" in found[0]


def test_every_problem_of_a_calendar_file_is_reported(tmp_path: Path) -> None:
    text = (
        GOOD.replace("timezone: Asia/Shanghai", "timezone: Asia/Shanghia\nyear: x")
        .replace("[2026-10-01, 2026-10-07]", "[2026-10-07, 2026-10-01]")
        .replace("day: 2026-10-10", "day: 2026-10-09")
    )
    found = problems(write(tmp_path, text))
    assert len(found) == 4, found
    assert found[0].startswith("cal.yaml: year: unknown key 'year'")
    assert "did you mean 'years'" in found[0]
    assert any("timezone: unknown time zone 'Asia/Shanghia'" in p for p in found)
    assert any("years.2026.holidays[0].days: bad days" in p and "from <= to" in p for p in found)
    assert any(
        "years.2026.workdays[0].day: 2026-10-09 is a Friday" in p
        and "falls on a Saturday or Sunday" in p
        for p in found
    )


def test_holiday_and_make_up_day_on_the_same_date(tmp_path: Path) -> None:
    text = GOOD.replace("day: 2026-10-10", "day: 2026-10-03")
    found = problems(write(tmp_path, text))
    assert any(
        "workdays[0].day: 2026-10-03 is also listed as a holiday (国庆节)" in p for p in found
    )


def test_yaml_errors_and_duplicate_years(tmp_path: Path) -> None:
    found = problems(write(tmp_path, GOOD + "  2026:\n    holidays: []\n"))
    assert found == [
        "cal.yaml: years.2026: duplicate key '2026', first at line 6 "
        "(rule: keys are unique within a mapping) [line 11]"
    ]
    found = problems(write(tmp_path, "years: [\n"))
    assert found[0].startswith("cal.yaml: line 2, column 1:") and "YAML syntax" in found[0]


def test_missing_calendar_file(tmp_path: Path) -> None:
    found = problems(tmp_path / "none.yaml")
    assert "file not found" in found[0]


def test_entries_need_names_and_known_keys(tmp_path: Path) -> None:
    text = GOOD.replace("{name: 国庆节, days:", "{title: 国庆节, days:")
    found = problems(write(tmp_path, text))
    assert any("years.2026.holidays[0].title: unknown key 'title'" in p for p in found)
    assert any("years.2026.holidays[0].name: missing or empty" in p for p in found)
