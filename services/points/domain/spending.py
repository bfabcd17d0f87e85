"""A member's spending profile for offers that fit: their purchases of the days before a
month, counted and summed by the catalogue's industries (contracts/industries.py maps the
merchant category codes), most purchases first. Pure: the job (handlers/spending.py) reads
the counts by MCC and publishes what this returns."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from contracts.industries import industries_of

#: The days before the month's first day a profile counts.
PROFILE_DAYS = 90


@dataclass(frozen=True, slots=True)
class IndustryTotal:
    industry: str
    purchases: int
    spend_cny: Decimal


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def month_key(month: date) -> str:
    return month.strftime("%Y-%m")


def by_industry(by_mcc: Iterable[tuple[str, int, Decimal]]) -> list[IndustryTotal]:
    """(mcc, purchases, spend) -> totals per industry, most purchases first, then most
    spend, then by name (deterministic). An MCC of no industry counts for none; one of
    several (5814: fast food, coffee, tea) counts for each."""
    counts: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    for mcc, purchases, spend in by_mcc:
        for industry in industries_of(mcc):
            counts[industry][0] += purchases
            counts[industry][1] += spend
    totals = [IndustryTotal(i, n, s) for i, (n, s) in counts.items() if n > 0]
    return sorted(totals, key=lambda t: (-t.purchases, -t.spend_cny, t.industry))
