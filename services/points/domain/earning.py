"""How many points a purchase earns. Pure: `earn` is given the member's tier and the bonus
points already earned in the purchase's month; `Accrual` keeps both for a batch.

1 point per whole CNY; a bonus category and the tier multiply it (then any campaign, and a
channel rule's rate for purchases paid through e.g. a third-party payment institution), the
product is floored; at most `per_transaction` points per purchase. The points are split in
two: `base`, outside the monthly bonus cap (1 per CNY at the channel's rate, times the tier
unless the programme counts the tier's uplift against the cap), and `bonus`, the rest, cut
to what is left of the member's monthly bonus allowance. So once the allowance is used up a
member still earns their tier's multiplier, unless `monthly_bonus_counts_tier`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from contracts.tiers import ENROLMENT_TIER, Tier

from .ledger import MemberLedger
from .rules import BonusCategory, EarningRules, ExcludedCategory

#: Shown for a purchase no multiplier applied to (an excluded category earns nothing).
NO_MULTIPLIER = Decimal("1.0")
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Purchase:
    transaction_id: str
    member_id: str
    mcc: str
    spend_cny: Decimal
    #: When the purchase was posted; it decides the month, the year and any campaign.
    posted_at: datetime
    #: How it was paid, if core banking says (e.g. "alipay"): a channel rule may apply.
    channel: str | None = None
    #: Where it was bought (the merchant's city): the monthly spending profile names the
    #: city a member buys in most.
    city: str | None = None


@dataclass(frozen=True, slots=True)
class Earning:
    points: int
    #: Points outside the monthly bonus cap, and those counted against it (module docstring).
    base: int
    bonus: int
    multiplier: Decimal
    tier: Tier
    rule_ids: tuple[str, ...]
    caps_applied: tuple[str, ...]
    expires_on: date
    #: First day of the calendar month whose bonus allowance this bonus uses.
    month: date


#: Shown for a purchase by a member who has left: the programme no longer credits them.
MEMBER_CLOSED = "member-closed"


def earn(purchase: Purchase, tier: Tier, bonus_used_this_month: int,
         rules: EarningRules, *, member_closed: bool = False) -> Earning:
    return _earn(purchase, purchase.posted_at.astimezone(rules.zone), tier,
                 bonus_used_this_month, rules, member_closed)


def _earn(purchase: Purchase, local: datetime, tier: Tier, bonus_used_this_month: int,
          rules: EarningRules, member_closed: bool) -> Earning:
    """`earn`, given the purchase's local time (`Accrual` has it already)."""
    month, expiry = _month_of(local), _expiry_of(local)
    if member_closed:
        return Earning(0, 0, 0, NO_MULTIPLIER, tier, (MEMBER_CLOSED,), (), expiry, month)
    category = rules.category_of(purchase.mcc)
    if isinstance(category, ExcludedCategory):
        return Earning(0, 0, 0, NO_MULTIPLIER, tier, (category.id,), (), expiry, month)
    channel = rules.channel_rule(purchase.channel)
    if channel is not None and not channel.rate:
        return Earning(0, 0, 0, NO_MULTIPLIER, tier, (channel.id,), (), expiry, month)

    tier_rule = rules.tiers[tier]
    rule_ids = [rules.base_rule]
    multiplier = tier_rule.multiplier
    if isinstance(category, BonusCategory):
        multiplier = category.multiplier * multiplier
        rule_ids.append(category.id)
    rule_ids.append(tier_rule.id)
    for campaign in rules.campaigns_at(purchase.mcc, local, purchase.channel):
        multiplier *= campaign.multiplier
        rule_ids.append(campaign.id)
    # Outside the monthly cap: base, at the channel's rate, and the tier's uplift unless
    # the programme counts it against the cap.
    uncapped = _ONE if rules.caps.monthly_bonus_counts_tier else tier_rule.multiplier
    if channel is not None:
        multiplier *= channel.rate
        uncapped *= channel.rate
        rule_ids.append(channel.id)

    caps: list[str] = []
    spend = math.floor(purchase.spend_cny)
    total = math.floor(spend * multiplier)
    if total > rules.caps.per_transaction:
        total = rules.caps.per_transaction
        caps.append(rules.caps.per_transaction_id)
    base = min(math.floor(spend * uncapped), total)  # above the cap: the cap, all of it base
    bonus = total - base
    allowance = max(0, rules.caps.monthly_bonus - bonus_used_this_month)
    if bonus > allowance:
        bonus = allowance
        caps.append(rules.caps.monthly_bonus_id)
    return Earning(base + bonus, base, bonus, multiplier, tier, tuple(rule_ids), tuple(caps),
                   expiry, month)


@dataclass(slots=True)
class Accrual:
    """A batch's purchases earning, in order: each uses up what is left of its month's bonus
    allowance and credits the member's ledger. Records every evaluated purchase (zero points
    included) in `earned`, for the SQL layer to write."""

    rules: EarningRules
    #: Each member's (effective date, tier) pairs, oldest first.
    tiers: Mapping[str, Sequence[tuple[date, Tier]]]
    #: Bonus points earned so far by (member, first day of month).
    bonus_used: dict[tuple[str, date], int]
    earned: list[tuple[Purchase, Earning]] = field(default_factory=list)
    #: Points forfeited at once by transaction: purchases dated before their member's
    #: closure that arrived after it (domain/ledger.py `true_up`).
    forfeited: dict[str, int] = field(default_factory=dict)

    def earn(self, purchase: Purchase, ledger: MemberLedger) -> Earning:
        local = purchase.posted_at.astimezone(self.rules.zone)
        key = (purchase.member_id, _month_of(local))
        tier = tier_on(self.tiers.get(purchase.member_id, ()), local.date())
        earning = _earn(purchase, local, tier, self.bonus_used.get(key, 0), self.rules,
                        not ledger.before_closure(purchase.posted_at))
        if earning.bonus:
            self.bonus_used[key] = self.bonus_used.get(key, 0) + earning.bonus
        if earning.points:
            ledger.credit("earn", purchase.transaction_id, earning.points, earning.expires_on,
                          purchase.posted_at)
            if ledger.closed and ledger.closed_at is not None and (
                    forfeited := ledger.true_up(purchase.transaction_id, ledger.closed_at)):
                self.forfeited[purchase.transaction_id] = forfeited
        self.earned.append((purchase, earning))
        return earning


def tier_on(history: Sequence[tuple[date, Tier]], day: date) -> Tier:
    """The tier in force on `day`, from (effective date, tier) pairs sorted by date."""
    tier = ENROLMENT_TIER
    for effective, changed_to in history:
        if effective > day:
            break
        tier = changed_to
    return tier


def expires_on(earned_at: datetime, rules: EarningRules) -> date:
    return _expiry_of(earned_at.astimezone(rules.zone))


def bonus_month(earned_at: datetime, rules: EarningRules) -> date:
    return _month_of(earned_at.astimezone(rules.zone))


def _expiry_of(local: datetime) -> date:
    """Points expire at the end of the calendar year after the year they were earned."""
    return date(local.year + 1, 12, 31)


def _month_of(local: datetime) -> date:
    return date(local.year, local.month, 1)
