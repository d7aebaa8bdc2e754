"""Time, in one place: every timestamp is timezone-aware UTC.

Tests and the demo simulator replace the clock with :class:`FrozenClock` instead of patching
``datetime``; services take the clock from their context, never from the module.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


class Clock:
    """The real wall clock."""

    def now(self) -> datetime:
        return utcnow()


class FrozenClock(Clock):
    """A clock that moves only when told to: deterministic tests and simulations."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at

    def advance(self, delta: timedelta) -> datetime:
        self._at = self._at + delta
        return self._at


_last_iso: tuple[datetime, str] = (datetime.min.replace(tzinfo=UTC), "")


def iso(at: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``; the one text form used in hashes and APIs.

    Hot: every ledger entry and API answer formats times, often the same ``now`` several
    times, so the last conversion is remembered (f-strings are 4× faster than ``strftime``).
    """
    global _last_iso
    last = _last_iso
    if at == last[0] and at.tzinfo is not None:
        return last[1]
    d = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)  # stored times are UTC
    text = (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:"
        f"{d.second:02d}.{d.microsecond:06d}Z"
    )
    _last_iso = (at, text)
    return text
