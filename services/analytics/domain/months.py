"""Months as "YYYY-MM" strings in Asia/Shanghai: the business month of an event's own time,
and the arithmetic the measures need."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Shanghai")


def month_of(moment: datetime | date) -> str:
    """The business month of a time (converted to Asia/Shanghai) or of a day."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(ZONE)
    return f"{moment.year:04d}-{moment.month:02d}"


# The measures do month arithmetic per member and month, on a few distinct months: cached.
@cache
def index(month: str) -> int:
    """Months since year 0: differences of indexes are month counts."""
    year, number = month.split("-")
    return int(year) * 12 + int(number) - 1


def from_index(n: int) -> str:
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


@cache
def add(month: str, n: int) -> str:
    return from_index(index(month) + n)


def between(first: str, last: str) -> int:
    """Months from `first` to `last` (0 for the same month, negative if `last` is earlier)."""
    return index(last) - index(first)


def series(last: str, count: int) -> list[str]:
    """The `count` months ending with `last`, oldest first."""
    return list(_series(last, count))


@cache
def _series(last: str, count: int) -> tuple[str, ...]:
    return tuple(add(last, n) for n in range(1 - count, 1))


def first_day(month: str) -> date:
    year, number = month.split("-")
    return date(int(year), int(number), 1)


@cache
def next_first_day(month: str) -> date:
    return first_day(add(month, 1))
