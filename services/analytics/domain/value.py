"""Customer lifetime value.

A member's monthly margin for the bank in month M is

    margin(M) = interchange_rate x net spend(M) + net_interest_margin / 12 x assets(M)

(a month without an asset snapshot counts 0 assets). Their margin at M is the average of
margin over the `window_months` months ending with M (those from the enrolment month on).
With r the monthly retention rate of their tier (domain/retention.py, over the report's
months; the programme's when the tier had nobody at a month's start) and d the monthly
discount rate (discount_rate / 12), the lifetime value is the margin's expected discounted
sum over an infinite horizon, margins paid at the start of each month:

    CLV = margin x (1 + d) / (1 + d - r)

Amounts are rounded to the cent once, at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from . import months as m
from .figures import ValueDistribution
from .history import Member
from .model import Model

CENT = Decimal("0.01")
TWELVE = Decimal(12)


def monthly_margin(member: Member, month: str, model: Model) -> Decimal:
    activity = member.activity(month)
    assets = activity.assets or Decimal(0)
    return (model.interchange_rate * activity.net_spend
            + model.net_interest_margin / TWELVE * assets)


def window(member: Member, last: str, count: int) -> list[str]:
    """The `count` months ending with `last`, from the member's enrolment month on."""
    start = member.start or last
    return [month for month in m.series(last, count) if month >= start]


def mean_margin(member: Member, months: list[str], model: Model) -> Decimal:
    """The average monthly margin over `months` (0 for none)."""
    if not months:
        return Decimal(0)
    return sum((monthly_margin(member, month, model) for month in months),
               Decimal(0)) / len(months)


def average_margin(member: Member, last: str, model: Model) -> Decimal:
    """The margin a lifetime value is worked from: the window ending with `last`."""
    return mean_margin(member, window(member, last, model.window_months), model)


def lifetime_value(margin: Decimal, retention_rate: float, model: Model) -> Decimal:
    d = model.discount_rate / TWELVE
    r = Decimal(str(retention_rate))
    return cents(margin * (1 + d) / (1 + d - r))


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def percentile(ordered: Sequence[Decimal], p: float) -> Decimal:
    """Linear interpolation between the closest ranks (`ordered` ascending, not empty):
    the value at position p x (n - 1)."""
    position = Decimal(str(p)) * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return cents(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def distribution(tier: str, values: Sequence[Decimal]) -> ValueDistribution:
    ordered = sorted(values)
    if not ordered:
        zero = Decimal("0.00")
        return ValueDistribution(tier, 0, zero, zero, zero, zero, zero, zero, zero)
    total = sum(ordered, Decimal(0))
    return ValueDistribution(
        tier=tier, members=len(ordered), total=cents(total), mean=cents(total / len(ordered)),
        p10=percentile(ordered, 0.10), p25=percentile(ordered, 0.25),
        median=percentile(ordered, 0.5), p75=percentile(ordered, 0.75),
        p90=percentile(ordered, 0.90))
