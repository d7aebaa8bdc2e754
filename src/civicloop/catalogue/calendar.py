"""The work calendar: when working time runs, and deadline arithmetic on it.

Normal (一般) deadlines count working time only; urgent (紧急) ones run on the wall clock
(GB/T 30428 practice, see ``reference/gbt30428.md`` §4.3). Working time is the calendar's
daily ``periods`` (by default 08:00–12:00 and 14:00–18:00 local time, 8 hours) on working days.

A date is a working day when it is a make-up working day (调休, e.g. a Saturday worked in
exchange for a holiday bridge), else not when it is a public holiday, else when it is Monday to
Friday. For years the calendar file does not list (``known_years``) only weekends are off:
callers that care can test :meth:`WorkCalendar.is_known_year` and warn.

Invariants and conventions:

* periods are sorted, non-overlapping and inside one day; holidays and make-up days are
  disjoint;
* every datetime in and out is timezone-aware; results are UTC. Inputs in any zone are first
  converted to the calendar's zone, so a start given in UTC counts from its local wall time;
* ``add_working_time(start, d)`` is the **earliest** instant by which ``d`` of working time has
  run since ``start``. Hence a span ending exactly at a period's end returns that end (12:00,
  not 14:00), a start outside working time begins counting at the next working instant, and a
  zero duration returns ``start`` itself;
* ``working_time_between(a, b)`` is the working time inside ``[a, b]`` and is antisymmetric
  (negative when ``b < a``), so ``working_time_between(s, add_working_time(s, d)) == d``;
* arithmetic is on local wall time, exact to the microsecond. It is right for zones whose
  daylight-saving changes (if any) fall outside working periods; Asia/Shanghai has none.

Speed matters: the SLA sweeper and the loop benchmark call :func:`due_at` per step. Whole days
are jumped (never minute by minute) and days between two instants are counted arithmetically.

The arithmetic uses the standard library only; reading a calendar file needs PyYAML, imported
when a file is read. :func:`read_yaml` and :func:`format_problem` are shared with the catalogue
loader, so every catalogue-family file reports problems the same way:
``file: path: problem (rule: …) [line n]``.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from civicloop.catalogue.model import ClockMode, DeadlineClass
from civicloop.core.errors import CatalogueError

DEFAULT_CALENDAR_PATH = Path(__file__).parent / "data" / "calendars" / "cn.yaml"
DEFAULT_PERIODS: tuple[tuple[time, time], ...] = (
    (time(8, 0), time(12, 0)),
    (time(14, 0), time(18, 0)),
)

_US_PER_DAY = 86_400_000_000
_ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = _EPOCH.toordinal()


def _us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


@dataclass(frozen=True)
class WorkCalendar:
    """Working days and daily working periods in one time zone. See the module docstring."""

    tz: str = "Asia/Shanghai"
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()  # make-up working days; they override weekends
    known_years: frozenset[int] = frozenset()
    # Derived in __post_init__ for speed; not part of equality.
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _spans: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    _day_us: int = field(init=False, repr=False, compare=False)
    _off: frozenset[int] = field(init=False, repr=False, compare=False)
    _on: frozenset[int] = field(init=False, repr=False, compare=False)
    _weekday_holidays: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _weekend_workdays: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _offsets: dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spans = tuple((_us(a), _us(b)) for a, b in self.periods)
        if not spans:
            raise ValueError("a work calendar needs at least one working period")
        previous_end = 0
        for start, end in spans:
            if not previous_end <= start < end:
                raise ValueError("working periods must be sorted, non-empty and disjoint")
            previous_end = end
        if self.holidays & self.workdays:
            raise ValueError("a date cannot be both a holiday and a make-up working day")
        set_ = object.__setattr__  # frozen dataclass: derived fields are set once, here
        set_(self, "_zone", ZoneInfo(self.tz))
        set_(self, "_offsets", {})  # day ordinal → UTC offset in µs, filled on demand
        set_(self, "_spans", spans)
        set_(self, "_day_us", sum(end - start for start, end in spans))
        set_(self, "_off", frozenset(d.toordinal() for d in self.holidays))
        set_(self, "_on", frozenset(d.toordinal() for d in self.workdays))
        # Only the exceptions that change a day's status matter for counting days in a range.
        set_(
            self,
            "_weekday_holidays",
            tuple(sorted(d.toordinal() for d in self.holidays if d.weekday() < 5)),
        )
        set_(
            self,
            "_weekend_workdays",
            tuple(sorted(d.toordinal() for d in self.workdays if d.weekday() >= 5)),
        )

    # -- days ---------------------------------------------------------------------------

    @property
    def working_day_length(self) -> timedelta:
        return timedelta(microseconds=self._day_us)

    def is_known_year(self, year: int) -> bool:
        return year in self.known_years

    def is_working_day(self, d: date) -> bool:
        return self._is_working(d.toordinal())

    def _is_working(self, ordinal: int) -> bool:
        if ordinal in self._on:
            return True
        if ordinal in self._off:
            return False
        return (ordinal + 6) % 7 < 5  # date.weekday() from the proleptic ordinal

    def _working_days(self, first: int, stop: int) -> int:
        """Working days with ordinal in ``[first, stop)``, counted without visiting each day."""
        n = stop - first
        if n <= 0:
            return 0
        weeks, rest = divmod(n, 7)
        count = weeks * 5
        weekday = (first + 6) % 7
        for i in range(rest):
            if (weekday + i) % 7 < 5:
                count += 1
        count -= bisect.bisect_left(self._weekday_holidays, stop) - bisect.bisect_left(
            self._weekday_holidays, first
        )
        count += bisect.bisect_left(self._weekend_workdays, stop) - bisect.bisect_left(
            self._weekend_workdays, first
        )
        return count

    def _overlap(self, ordinal: int, start_us: int, end_us: int) -> int:
        """Working microseconds of day ``ordinal`` inside ``[start_us, end_us]``."""
        if not self._is_working(ordinal):
            return 0
        total = 0
        for p_start, p_end in self._spans:
            lo = p_start if p_start > start_us else start_us
            hi = p_end if p_end < end_us else end_us
            if hi > lo:
                total += hi - lo
        return total

    # -- instants -------------------------------------------------------------------------

    def _local(self, instant: datetime) -> tuple[int, int]:
        if instant.tzinfo is None:
            raise ValueError("work-calendar arithmetic needs timezone-aware datetimes")
        loc = instant.astimezone(self._zone)
        tod = ((loc.hour * 60 + loc.minute) * 60 + loc.second) * 1_000_000 + loc.microsecond
        return loc.toordinal(), tod

    def _instant(self, ordinal: int, tod_us: int) -> datetime:
        # Local wall time → UTC through the day's UTC offset, cached per day: building an
        # aware datetime and converting it costs more than the whole day walk.
        offset = self._offsets.get(ordinal)
        if offset is None:
            noon = datetime.fromordinal(ordinal).replace(hour=12, tzinfo=self._zone)
            offset = self._offsets[ordinal] = (noon.utcoffset() or _ZERO) // _MICROSECOND
        return _EPOCH + timedelta(
            microseconds=(ordinal - _EPOCH_ORDINAL) * _US_PER_DAY + tod_us - offset
        )

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant by which ``duration`` of working time has run since ``start``."""
        if duration < _ZERO:
            raise ValueError("duration must not be negative")
        ordinal, tod = self._local(start)
        if not duration:
            return start.astimezone(UTC)
        remaining = (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds
        spans = self._spans
        # The (partial) first day: periods still ahead of the start time.
        if self._is_working(ordinal):
            for p_start, p_end in spans:
                if p_end <= tod:
                    continue
                begin = p_start if p_start > tod else tod
                available = p_end - begin
                if remaining <= available:
                    return self._instant(ordinal, begin + remaining)
                remaining -= available
        # Whole days are jumped; only the final day is walked period by period.
        day_us = self._day_us
        while True:
            ordinal += 1
            if not self._is_working(ordinal):
                continue
            if remaining > day_us:
                remaining -= day_us
                continue
            for p_start, p_end in spans:
                available = p_end - p_start
                if remaining <= available:
                    return self._instant(ordinal, p_start + remaining)
                remaining -= available

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time inside ``[a, b]``; negative when ``b`` is before ``a``."""
        oa, ta = self._local(a)
        ob, tb = self._local(b)
        if (ob, tb) < (oa, ta):
            return -self.working_time_between(b, a)
        if oa == ob:
            total = self._overlap(oa, ta, tb)
        else:
            total = (
                self._overlap(oa, ta, _US_PER_DAY)
                + self._working_days(oa + 1, ob) * self._day_us
                + self._overlap(ob, 0, tb)
            )
        return timedelta(microseconds=total)


def due_at(start: datetime, deadline: DeadlineClass, calendar: WorkCalendar) -> datetime:
    """When a step started at ``start`` is due under ``deadline`` (UTC)."""
    if deadline.mode is ClockMode.CLOCK:
        if start.tzinfo is None:
            raise ValueError("due_at needs a timezone-aware start")
        # In UTC first: aware arithmetic in a zone with daylight saving adds wall-clock time.
        return start.astimezone(UTC) + deadline.duration
    return calendar.add_working_time(start, deadline.duration)


def elapsed(a: datetime, b: datetime, mode: ClockMode, calendar: WorkCalendar) -> timedelta:
    """Time used between ``a`` and ``b`` as a deadline of ``mode`` counts it (for overtime)."""
    if mode is ClockMode.CLOCK:
        return b.astimezone(UTC) - a.astimezone(UTC)  # absolute, even within one DST zone
    return calendar.working_time_between(a, b)


# -- files ---------------------------------------------------------------------------------

PathParts = tuple[str | int, ...]


def format_path(parts: Iterable[str | int]) -> str:
    """``("elements", 3, "deadlines", "handle")`` → ``elements[3].deadlines.handle``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<top level>"


def format_problem(
    file: str, path: Iterable[str | int], message: str, rule: str, line: int | None = None
) -> str:
    """One problem, always the same shape: ``file: path: message (rule: …) [line n]``."""
    text = f"{file}: {format_path(path)}: {message} (rule: {rule})"
    return f"{text} [line {line}]" if line else text


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A hint for a misspelt key or code; empty when nothing is close."""
    options = sorted(choices)
    close = difflib.get_close_matches(word, options, n=1)
    # A shortened key ("lead" for "lead_department") is too short for difflib's ratio.
    close = close or [c for c in options if len(word) >= 3 and c.startswith(word)][:1]
    return f"; did you mean '{close[0]}'?" if close else ""


@dataclass
class YamlDocument:
    """A parsed YAML file with the line of every key and item, for precise messages."""

    display: str  # how problems name the file, e.g. "default/urban.yaml"
    data: Any = None
    lines: dict[PathParts, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # syntax errors, duplicate keys

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path`` or of its nearest ancestor that has one."""
        parts = tuple(path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return None

    def problem(self, path: Sequence[str | int], message: str, rule: str) -> str:
        return format_problem(self.display, path, message, rule, self.line(path))


def read_yaml(path: Path, display: str) -> YamlDocument:
    """Parse one YAML file; syntax errors and duplicate keys become problems, not exceptions.

    The document is composed to nodes first so every key and item keeps its line, then
    constructed with the safe loader. PyYAML silently keeps the last of two equal keys, so
    duplicates are found on the nodes and reported.
    """
    import yaml  # here, not at the top: the calendar arithmetic stays standard-library only

    doc = YamlDocument(display=display)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        doc.problems.append(format_problem(display, (), f"cannot read file: {exc}", "readable"))
        return doc
    # The C parser, when PyYAML was built with libyaml, reads the default catalogue twice as fast.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _index_nodes(node, (), doc)
            doc.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        what = exc.problem or exc.context or "invalid YAML"
        doc.problems.append(f"{display}: {where}: {what} (rule: YAML syntax)")
        doc.data = None
    except yaml.YAMLError as exc:  # not marked: still a syntax problem of this file
        doc.problems.append(f"{display}: {exc} (rule: YAML syntax)")
        doc.data = None
    finally:
        loader.dispose()
    return doc


def _index_nodes(node: Any, path: PathParts, doc: YamlDocument) -> None:
    import yaml

    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                doc.problems.append(
                    format_problem(
                        doc.display,
                        (*path, key),
                        f"duplicate key '{key}', first at line {seen[key]}",
                        "keys are unique within a mapping",
                        line,
                    )
                )
                continue
            seen[key] = line
            doc.lines[(*path, key)] = line
            _index_nodes(value_node, (*path, key), doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_nodes(item, (*path, i), doc)


_CALENDAR_KEYS = ("timezone", "working_hours", "years")
_YEAR_KEYS = ("holidays", "workdays")


def load_calendar(path: Path | None = None) -> WorkCalendar:
    """Load a work calendar file; the packaged ``data/calendars/cn.yaml`` by default.

    Raises :class:`CatalogueError` listing every problem (file, path, rule).
    """
    path = Path(path) if path is not None else DEFAULT_CALENDAR_PATH
    if not path.is_file():
        raise CatalogueError([format_problem(str(path), (), "file not found", "file exists")])
    doc = read_yaml(path, path.name)
    problems = list(doc.problems)
    if not problems:
        calendar = _build_calendar(doc, problems)
        if not problems and calendar is not None:
            return calendar
    raise CatalogueError(problems)


def _build_calendar(doc: YamlDocument, problems: list[str]) -> WorkCalendar | None:
    data = doc.data
    if not isinstance(data, dict):
        problems.append(doc.problem((), "the file must be a mapping", "calendar shape"))
        return None
    for key in data:
        if key not in _CALENDAR_KEYS:
            problems.append(
                doc.problem(
                    (str(key),),
                    f"unknown key '{key}'",
                    f"no unknown keys; allowed: {', '.join(_CALENDAR_KEYS)}"
                    + did_you_mean(str(key), _CALENDAR_KEYS),
                )
            )
    tz = data.get("timezone", "Asia/Shanghai")
    try:
        if not isinstance(tz, str):
            raise ZoneInfoNotFoundError(tz)
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            doc.problem(("timezone",), f"unknown time zone {tz!r}", "an IANA zone name")
        )
    periods = _parse_periods(doc, data.get("working_hours"), problems)
    holidays: dict[date, tuple[str, int]] = {}
    workdays: dict[date, tuple[str, int]] = {}
    years = data.get("years")
    if not isinstance(years, dict) or not years:
        problems.append(doc.problem(("years",), "missing or empty", "years is a mapping"))
        years = {}
    for year, content in years.items():
        ypath: PathParts = ("years", str(year))
        if not isinstance(year, int) or not 1900 <= year <= 2999:
            problems.append(doc.problem(ypath, f"bad year {year!r}", "a year like 2026"))
            continue
        if not isinstance(content, dict):
            problems.append(doc.problem(ypath, "must be a mapping", "holidays/workdays"))
            continue
        for key in content:
            if key not in _YEAR_KEYS:
                problems.append(
                    doc.problem(
                        (*ypath, str(key)),
                        f"unknown key '{key}'",
                        "allowed: holidays, workdays" + did_you_mean(str(key), _YEAR_KEYS),
                    )
                )
        for i, item in enumerate(_as_list(doc, (*ypath, "holidays"), content, problems)):
            for d in _holiday_days(doc, (*ypath, "holidays", i), item, year, problems):
                holidays[d] = (_name(item), year)
        for i, item in enumerate(_as_list(doc, (*ypath, "workdays"), content, problems)):
            ipath = (*ypath, "workdays", i)
            day = _workday(doc, ipath, item, year, problems)
            if day is None:
                continue
            if day.weekday() < 5:
                problems.append(
                    doc.problem(
                        (*ipath, "day"),
                        f"{day} is a {day.strftime('%A')}, already a working day",
                        "a make-up working day falls on a Saturday or Sunday",
                    )
                )
            if day in holidays:
                problems.append(
                    doc.problem(
                        (*ipath, "day"),
                        f"{day} is also listed as a holiday ({holidays[day][0]})",
                        "a date is a holiday or a make-up working day, not both",
                    )
                )
            workdays[day] = (_name(item), year)
    if problems or periods is None:
        return None
    return WorkCalendar(
        tz=tz,
        periods=periods,
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        known_years=frozenset(int(y) for y in years),
    )


def _name(item: Any) -> str:
    return str(item.get("name", "")) if isinstance(item, dict) else ""


def _as_list(doc: YamlDocument, path: PathParts, content: dict, problems: list[str]) -> list:
    value = content.get(path[-1], [])
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(doc.problem(path, "must be a list", f"{path[-1]} is a list"))
        return []
    return value


def _parse_periods(
    doc: YamlDocument, raw: Any, problems: list[str]
) -> tuple[tuple[time, time], ...] | None:
    if raw is None:
        return DEFAULT_PERIODS
    rule = 'a list of ["HH:MM", "HH:MM"] pairs, sorted and disjoint (quote the times)'
    if not isinstance(raw, list) or not raw:
        problems.append(doc.problem(("working_hours",), "must be a non-empty list", rule))
        return None
    periods: list[tuple[time, time]] = []
    for i, pair in enumerate(raw):
        path: PathParts = ("working_hours", i)
        try:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError
            start, end = (time.fromisoformat(p) for p in pair if isinstance(p, str))
        except ValueError:
            # YAML 1.1 reads an unquoted 12:00 as the base-60 integer 720: say so.
            hint = ""
            if isinstance(pair, list) and any(isinstance(p, int) for p in pair):
                hint = " (an unquoted HH:MM is read as a base-60 number)"
            problems.append(doc.problem(path, f"bad period {pair!r}{hint}", rule))
            return None
        if not start < end or (periods and start < periods[-1][1]):
            problems.append(doc.problem(path, f"period {pair!r} out of order", rule))
            return None
        periods.append((start, end))
    return tuple(periods)


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _check_item(
    doc: YamlDocument, path: PathParts, item: Any, keys: tuple[str, ...], problems: list[str]
) -> bool:
    if not isinstance(item, dict):
        problems.append(doc.problem(path, "must be a mapping", f"keys: {', '.join(keys)}"))
        return False
    ok = True
    for key in item:
        if key not in keys:
            problems.append(
                doc.problem(
                    (*path, str(key)),
                    f"unknown key '{key}'",
                    f"allowed: {', '.join(keys)}" + did_you_mean(str(key), keys),
                )
            )
            ok = False
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(doc.problem((*path, "name"), "missing or empty", "every entry has a name"))
        ok = False
    return ok


def _near(d: date, year: int) -> bool:
    # A holiday block may start in December of the year before (元旦 2024 began 2023-12-30).
    return year - 1 <= d.year <= year + 1


def _holiday_days(
    doc: YamlDocument, path: PathParts, item: Any, year: int, problems: list[str]
) -> list[date]:
    if not _check_item(doc, path, item, ("name", "days"), problems):
        return []
    raw = item.get("days")
    rule = "days is [from] or [from, to] with ISO dates, from <= to, at most 31 days"
    if not isinstance(raw, list) or not 1 <= len(raw) <= 2:
        problems.append(doc.problem((*path, "days"), f"bad days {raw!r}", rule))
        return []
    first, last = _as_date(raw[0]), _as_date(raw[-1])
    if first is None or last is None or first > last or (last - first).days > 30:
        problems.append(doc.problem((*path, "days"), f"bad days {raw!r}", rule))
        return []
    if not (_near(first, year) and _near(last, year)):
        problems.append(
            doc.problem((*path, "days"), f"{raw!r} is far from {year}", "dates near their year")
        )
        return []
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _workday(
    doc: YamlDocument, path: PathParts, item: Any, year: int, problems: list[str]
) -> date | None:
    if not _check_item(doc, path, item, ("name", "day"), problems):
        return None
    d = _as_date(item.get("day"))
    if d is None or not _near(d, year):
        problems.append(
            doc.problem((*path, "day"), f"bad day {item.get('day')!r}", "an ISO date in its year")
        )
        return None
    return d
