"""Offers that fit (issue 16): at most three offers a member can use, ranked by what they
spend on. Pure: the handler (handlers/recommendations.py) loads the member's tier and usage
and the catalogue's view, and publishes what `recommend` picks.

An offer is usable if it is active and open today, open to the member's tier, redeemable
in the member's city (or everywhere: an online brand; a member whose city is unknown gets
only those), and not used up in its current period. Only offers of industries the member
bought in are recommended, the industry with most purchases first (a tie as the profile
orders it: more spend first); one offer per industry before a second of any, so three
industries give three kinds of offer. Within an industry the privileges of higher tiers
come first (an offer whose lowest tier is the member's before an everyday one), then by
id: the same profile always gives the same offers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from contracts.industries import ENGLISH
from contracts.tiers import rank

from .catalogue import OfferEntry, usage_counter

MAX_OFFERS = 3
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


@dataclass(frozen=True, slots=True)
class Member:
    tier: str
    city: str | None
    #: (industry, purchases) as the spending profile lists them: most purchases first.
    interests: Sequence[tuple[str, int]]


def usable(offer: OfferEntry, member: Member, today: date,
           used: Mapping[tuple[str, str], int]) -> bool:
    return (offer.open_on(today) and member.tier in offer.eligible_tiers
            and (offer.in_city(member.city) if member.city else not offer.cities)
            and used.get(usage_counter(offer, today), 0) < offer.limit_per_period)


def recommend(offers: Iterable[OfferEntry], member: Member, today: date,
              used: Mapping[tuple[str, str], int]) -> list[OfferEntry]:
    """Up to MAX_OFFERS usable offers, best first (see the module's docstring)."""
    # most purchases first; a tie in the profile's order (points puts more spend first)
    order = {industry: n for n, (industry, purchases) in enumerate(
        sorted(member.interests, key=lambda x: -x[1])) if purchases > 0}
    by_industry: dict[str, list[OfferEntry]] = {}
    for offer in offers:
        if offer.industry in order and usable(offer, member, today, used):
            by_industry.setdefault(offer.industry, []).append(offer)
    queues = [sorted(by_industry[i], key=lambda o: (-rank(o.eligible_tiers[0]), o.id))
              for i in sorted(by_industry, key=order.__getitem__)]
    picked: list[OfferEntry] = []
    while len(picked) < MAX_OFFERS and any(queues):
        for queue in queues:  # one of each industry per round
            if queue and len(picked) < MAX_OFFERS:
                picked.append(queue.pop(0))
    return picked


def english_title(offer: OfferEntry) -> str:
    """The title if it is English already, else what the offer is, by its industry and its
    price: "Coffee: 20% off", "Hotels: reward for 45,000 points"."""
    if not _CJK.search(offer.title):
        return offer.title
    what = (f"{offer.discount_percent}% off" if offer.discount_percent is not None
            else f"reward for {offer.points_price:,} points")
    return f"{ENGLISH.get(offer.industry, 'Partner')}: {what}"  # type: ignore[call-overload]
