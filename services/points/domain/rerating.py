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

A closure is a change of rating too: a purchase dated from the closure on earns nothing
(`member-closed`) and a refund dated from it takes nothing back, whenever they arrive. So
when the closure comes (`close`) the purchases and refunds dated after it that arrived
before it are rated again that way, and then what is left is forfeited. A closed member is
re-rated like any other for a tier change of the days before the closure; what that moves is
trued up at once (domain/ledger.py): a credit forfeited, a debit paid from the forfeiture.
Either way the ledger ends as if the facts had come in order.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from contracts.tiers import Tier

from .earning import MEMBER_CLOSED, Earning, Purchase, earn, tier_on
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
    #: Of `refunded`, what refunds dated from the member's closure on refunded: they take
    #: nothing back.
    refunded_after_closure: Decimal = Decimal(0)


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
    #: A closed member's: what the true-up then forfeited (< 0: gave back).
    forfeited: int = 0

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
    `history`, or the member's closure, gives a purchase another rating than it has; and a
    purchase whose refunds took back another share than its rating's (refunds dated after
    a closure learned since). Post the differences to `ledger`. Returns the re-ratings and
    each re-rated month's bonus used."""
    months: dict[date, list[Rated]] = defaultdict(list)
    for rated in purchases:
        months[rated.earning.month].append(rated)
    reratings: list[Rerating] = []
    bonus_used: dict[date, int] = {}
    for month, rated_in_month in sorted(months.items()):
        targets = {r.purchase.transaction_id: _target(r.purchase, history, ledger, rules)
                   for r in rated_in_month}
        if all(targets[r.purchase.transaction_id] == _rated_as(r.earning)
               for r in rated_in_month):  # the ratings stand: only refunds' shares may move
            reratings += [_post(r, r.earning, ledger, at) for r in rated_in_month
                          if _share(r, r.earning) != r.reversed]
            continue
        used = 0
        for rated in sorted(rated_in_month, key=lambda r: (r.purchase.posted_at,
                                                             r.purchase.transaction_id)):
            tier, closed = targets[rated.purchase.transaction_id]
            new = earn(rated.purchase, tier, used, rules, member_closed=closed)
            used += new.bonus
            if new != rated.earning or _share(rated, new) != rated.reversed:
                reratings.append(_post(rated, new, ledger, at))
        bonus_used[month] = used
    return reratings, bonus_used


def close(purchases: Sequence[Rated], history: Sequence[tuple[date, Tier]],
          ledger: MemberLedger, rules: EarningRules,
          at: datetime) -> tuple[list[Rerating], dict[date, int], int]:
    """The member closes at `at`: `purchases` (all the member's) re-rated as facts dated
    from the closure on count (nothing), then what is left forfeited. Returns the
    re-ratings, the re-rated months' bonus used and the points forfeited; nothing if the
    member had closed already."""
    if ledger.closed:
        return [], {}, 0
    ledger.closed_at = at  # before re-rating: it decides what counts (`before_closure`)
    reratings, bonus_used = rerate(purchases, history, ledger, rules, at)
    return reratings, bonus_used, ledger.close(at)


def _target(purchase: Purchase, history: Sequence[tuple[date, Tier]], ledger: MemberLedger,
            rules: EarningRules) -> tuple[Tier, bool]:
    """The tier a purchase earns at, and whether its member had closed by its date."""
    return (tier_on(history, purchase.posted_at.astimezone(rules.zone).date()),
            not ledger.before_closure(purchase.posted_at))


def _rated_as(earning: Earning) -> tuple[Tier, bool]:
    return earning.tier, MEMBER_CLOSED in earning.rule_ids


def _share(rated: Rated, earning: Earning) -> int:
    """What the purchase's refunds take back of `earning`'s points."""
    return points_to_reverse(earning.points, rated.purchase.spend_cny, Decimal(0), 0,
                             rated.refunded - rated.refunded_after_closure)


def _post(rated: Rated, new: Earning, ledger: MemberLedger, at: datetime) -> Rerating:
    purchase = rated.purchase
    reversed_ = _share(rated, new)
    points = (new.points - reversed_) - (rated.earning.points - rated.reversed)
    ref = reference(purchase.transaction_id, rated.revision + 1)
    if points > 0:
        ledger.credit("earn", ref, points, new.expires_on, at)
    elif points < 0:
        ledger.reverse(ref, -points, new.expires_on, at)
    forfeited = 0
    if points and ledger.closed and ledger.closed_at is not None:
        forfeited = ledger.true_up(ref, ledger.closed_at)
    return Rerating(ref, rated, new, reversed_, points, at, forfeited)
