"""Re-rating: a member's purchases worked out again when accounts changes the tier of a past
day (a fact that arrived late, or a correction), so that every purchase ends up with the
points it would have earned had its tier been known when it arrived.

Whole months are worked out again, and only those holding a purchase whose tier changes:
a month's purchases share one bonus allowance, so they are rated together, in the order they
were posted, from an unused allowance, as in-order delivery would have rated them. A
purchase whose rating changes gets a new revision, and the member's points move by the
difference in what the purchase nets: its points less what its refunds took back, that
share recomputed for the new points. Rating the same tier history again changes nothing, so
a tier change re-sent or repeated credits nothing twice, and a correction followed by its
undo nets to nothing.

A closed member is not re-rated: everything they had was forfeited when they left.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from contracts.tiers import Tier

from .earning import Earning, Purchase, earn, tier_on
from .ledger import MemberLedger
from .refunds import points_to_reverse
from .rules import EarningRules

#: The contract's bound on identifiers (contracts.fields.Identifier).
_MAX_ID = 64


@dataclass(frozen=True, slots=True)
class Rated:
    """A purchase as it is rated now: its first earning or its last re-rating."""

    purchase: Purchase
    earning: Earning
    #: The amount refunded so far, and the points those refunds took back.
    refunded: Decimal
    reversed: int
    #: Re-ratings so far, and what they changed in `reversed` (refunds reverse a share of
    #: the points as rated when they were applied).
    revision: int = 0
    reversed_adjustment: int = 0


@dataclass(frozen=True, slots=True)
class Rerating:
    """A purchase's new rating, and the points it moved (> 0 credited, < 0 taken back)."""

    reference: str
    rated: Rated
    earning: Earning
    #: What the purchase's refunds have taken back, at the new points.
    reversed: int
    points: int
    at: datetime

    @property
    def revision(self) -> int:
        return self.rated.revision + 1

    @property
    def reversed_adjustment(self) -> int:
        """What the re-ratings so far, this one included, changed in `reversed`."""
        return self.rated.reversed_adjustment + self.reversed - self.rated.reversed


def reference(transaction_id: str, revision: int) -> str:
    """`<transaction id>/rerated-<n>`: the reference of the ledger transfer a re-rating
    posts. An id too long for the ledger's reference keeps its head and a digest of the
    whole."""
    suffix = f"/rerated-{revision}"
    if len(transaction_id) + len(suffix) <= _MAX_ID:
        return transaction_id + suffix
    digest = hashlib.blake2b(transaction_id.encode(), digest_size=8).hexdigest()
    return f"{transaction_id[:_MAX_ID - len(suffix) - 17]}~{digest}{suffix}"


def since(day: date, rules: EarningRules) -> datetime:
    """Where re-rating from a tier change effective on `day` starts: its whole month."""
    return datetime(day.year, day.month, 1, tzinfo=rules.zone)


def rerate(purchases: Sequence[Rated], history: Sequence[tuple[date, Tier]],
           ledger: MemberLedger, rules: EarningRules,
           at: datetime) -> tuple[list[Rerating], dict[date, int]]:
    """Re-rate the months of `purchases` (one member's, whole months) in which the tier
    `history` gives a purchase another tier than it was rated with; post the differences
    to `ledger`. Returns the re-ratings and each re-rated month's bonus used."""
    if ledger.closed:
        return [], {}
    months: dict[date, list[Rated]] = defaultdict(list)
    for rated in purchases:
        months[rated.earning.month].append(rated)
    reratings: list[Rerating] = []
    bonus_used: dict[date, int] = {}
    for month, rated_in_month in sorted(months.items()):
        tiers = {r.purchase.transaction_id: _tier(r.purchase, history, rules)
                 for r in rated_in_month}
        if all(tiers[r.purchase.transaction_id] == r.earning.tier for r in rated_in_month):
            continue
        used = 0
        for rated in sorted(rated_in_month, key=lambda r: (r.purchase.posted_at,
                                                             r.purchase.transaction_id)):
            new = earn(rated.purchase, tiers[rated.purchase.transaction_id], used, rules)
            used += new.bonus
            if new != rated.earning:
                reratings.append(_post(rated, new, ledger, at))
        bonus_used[month] = used
    return reratings, bonus_used


def _tier(purchase: Purchase, history: Sequence[tuple[date, Tier]],
          rules: EarningRules) -> Tier:
    return tier_on(history, purchase.posted_at.astimezone(rules.zone).date())


def _post(rated: Rated, new: Earning, ledger: MemberLedger, at: datetime) -> Rerating:
    purchase = rated.purchase
    reversed_ = points_to_reverse(new.points, purchase.spend_cny, Decimal(0), 0, rated.refunded)
    points = (new.points - reversed_) - (rated.earning.points - rated.reversed)
    ref = reference(purchase.transaction_id, rated.revision + 1)
    if points > 0:
        ledger.credit("earn", ref, points, new.expires_on, at)
    elif points < 0:
        ledger.reverse(ref, -points, new.expires_on, at)
    return Rerating(ref, rated, new, reversed_, points, at)
