"""Average daily balance over a calendar month, from day-end balances.

A day without a movement carries the balance of the day before (the last day-end known
before the month opens it; an account with none before is at 0 until its first). A
negative balance (an overdraft) is a debt, not an asset: it counts as 0 that day.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of `month` (YYYY-MM)."""
    year, number = map(int, month.split("-"))
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def next_month(month: str) -> str:
    return month_of(month_bounds(month)[1] + timedelta(days=1))


def months_from(first: str, before: str) -> list[str]:
    """The months from `first` up to, not including, `before`."""
    months, month = [], first
    while month < before:
        months.append(month)
        month = next_month(month)
    return months


def average_daily_balance(month: str, opening: Mapping[object, Decimal],
                          day_ends: Mapping[object, Mapping[date, Decimal]]) -> Decimal:
    """The average over the days of `month` of the sum of the accounts' day-end balances, in
    cents (half up). `opening`: each account's last day-end before the month; `day_ends`:
    its day-end balances inside the month."""
    first, last = month_bounds(month)
    days = (last - first).days + 1
    total = Decimal(0)
    for account in set(opening) | set(day_ends):
        balance = opening.get(account, Decimal(0))
        inside = day_ends.get(account, {})
        for n in range(days):
            balance = inside.get(first + timedelta(days=n), balance)
            total += max(balance, Decimal(0))
    return (total / days).quantize(CENT, rounding=ROUND_HALF_UP)


def latest_per_day(facts: Iterable[tuple[date, tuple, Decimal]]) -> dict[date, Decimal]:
    """Day-end balances from (day, order, balance) facts: the last in `order` of each day."""
    best: dict[date, tuple[tuple, Decimal]] = {}
    for day, order, balance in facts:
        if day not in best or order >= best[day][0]:
            best[day] = (order, balance)
    return {day: balance for day, (_, balance) in best.items()}
