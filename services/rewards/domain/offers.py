"""Alliance offers: who may redeem one, when, how often, and at what price."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .errors import refuse


@dataclass(frozen=True, slots=True)
class Offer:
    id: str
    title: str
    points_price: int | None       # points-paid offers go through the points service
    discount_percent: int | None   # discount offers cost no points; the partner applies it
    valid_from: date
    valid_until: date              # inclusive
    eligible_tiers: frozenset[str]
    limit_per_period: int
    period: str                    # 'day', 'month' or 'year'


def period_key(period: str, today: date) -> str:
    """The counter an offer's per-member limit is kept in."""
    if period == "day":
        return today.isoformat()
    if period == "month":
        return today.strftime("%Y-%m")
    if period == "year":
        return str(today.year)
    raise ValueError(f"unknown period {period!r}")


def redeem_offer(offer: Offer, tier: str, today: date, used: int) -> int:
    """The points the redemption costs (0 for a discount), or a refusal."""
    if not offer.valid_from <= today <= offer.valid_until:
        raise refuse("not_eligible", f"offer {offer.id} is valid"
                     f" {offer.valid_from} to {offer.valid_until}")
    if tier not in offer.eligible_tiers:
        raise refuse("not_eligible", f"offer {offer.id} is not open to the member's tier")
    if used >= offer.limit_per_period:
        raise refuse("limit_reached", f"offer {offer.id} allows {offer.limit_per_period}"
                     f" per member per {offer.period}")
    return offer.points_price or 0
