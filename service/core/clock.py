"""The service's clock.

Rules that depend on dates (retention and review dates, minors, late-hit expiry) read the time
here rather than from `datetime` directly, so a test can move the clock a week or three years
forward (`advance`) against a real Neo4j instead of waiting or faking the database.
"""

from __future__ import annotations

import datetime as dt

_offset = dt.timedelta(0)


def now() -> dt.datetime:
    """The current time, UTC, plus any offset a test applied."""
    return dt.datetime.now(dt.UTC) + _offset


def today() -> dt.date:
    return now().date()


def iso_now() -> str:
    return now().isoformat(timespec="microseconds")


def advance(delta: dt.timedelta) -> None:
    """Move the clock forward (tests only; the offset is process-wide)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = dt.timedelta(0)
