"""Retention and churn per month and tier.

A member is at the start of month M when they enrolled before M, had not closed before M
and had not lapsed at the end of M-1 (`Member.lapsed`: no qualifying activity for
`churn_inactive_months` months). They churn in M when they close in M or have lapsed at its
end; the others are retained. Their tier is the one at the end of M-1. A lapsed member who
comes back (a purchase) is at the start of the month after it again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from . import months as m
from .figures import ALL, Retention
from .history import Member


def at_start(member: Member, month: str, inactive_months: int) -> bool:
    previous = m.add(month, -1)
    return member.open_at_end(previous) and not member.lapsed(previous, inactive_months)


def churned(member: Member, month: str, inactive_months: int) -> bool:
    """Of a member at the start of `month`: closed in it, or lapsed at its end."""
    return member.closed_month == month or member.lapsed(month, inactive_months)


def retention(members: Iterable[Member], months: list[str], tiers: list[str],
              inactive_months: int) -> list[Retention]:
    """One row per month and tier (each of `tiers`, then "all"), oldest month first."""
    members = list(members)
    rows: list[Retention] = []
    for month in months:
        start: Counter[str] = Counter()
        lost: Counter[str] = Counter()
        for member in members:
            if at_start(member, month, inactive_months):
                tier = member.tier(m.add(month, -1))
                start[tier] += 1
                lost[tier] += churned(member, month, inactive_months)
        for tier in tiers:
            rows.append(Retention(month, tier, start[tier], start[tier] - lost[tier],
                                  lost[tier]))
        total, gone = sum(start.values()), sum(lost.values())
        rows.append(Retention(month, ALL, total, total - gone, gone))
    return rows


def retention_rates(rows: Iterable[Retention]) -> dict[str, float]:
    """Each tier's (and "all"'s) retention rate over all the rows' months: retained over at
    start, summed; tiers with nobody at the start are left out."""
    start: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    for row in rows:
        start[row.tier] += row.at_start
        kept[row.tier] += row.retained
    return {tier: kept[tier] / start[tier] for tier in start if start[tier]}
