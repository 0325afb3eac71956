"""The service's clock.

Rules that depend on dates (retention and review dates, minors, late-hit expiry) read the time
here rather than from `datetime` directly, so a test can move the clock a week or three years
forward (`advance`) against a real Neo4j instead of waiting or faking the database. Periods in
months (review dates, lookup memories, priority-target reviews) are added with `add_months`.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import TypeVar

Day = TypeVar("Day", bound=dt.date)  # a date or a datetime

_offset = dt.timedelta(0)


def now() -> dt.datetime:
    """The current time, UTC, plus any offset a test applied."""
    return dt.datetime.now(dt.UTC) + _offset


def today() -> dt.date:
    return now().date()


def iso_now() -> str:
    return now().isoformat(timespec="microseconds")


def add_months(day: Day, months: int) -> Day:
    """`day` plus whole months; the 31st becomes the last day of a shorter month (31 Aug + 6 = 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def advance(delta: dt.timedelta) -> None:
    """Move the clock forward (tests only; the offset is process-wide)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = dt.timedelta(0)
