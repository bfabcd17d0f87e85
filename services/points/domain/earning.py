"""How many points a purchase earns. Pure: `earn` is given the member's tier and the bonus
points already earned in the purchase's month; `Accrual` keeps both for a batch.

1 point per whole CNY; a bonus category and the tier multiply it (then any campaign), the
product is floored; at most `per_transaction` points per purchase; the points above base
(bonus) are cut to what is left of the member's monthly bonus allowance.
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


@dataclass(frozen=True, slots=True)
class Purchase:
    transaction_id: str
    member_id: str
    mcc: str
    spend_cny: Decimal
    #: When the purchase was posted; it decides the month, the year and any campaign.
    posted_at: datetime


@dataclass(frozen=True, slots=True)
class Earning:
    points: int
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
    local = purchase.posted_at.astimezone(rules.zone)
    month, expiry = _month_of(local), _expiry_of(local)
    if member_closed:
        return Earning(0, 0, 0, NO_MULTIPLIER, tier, (MEMBER_CLOSED,), (), expiry, month)
    category = rules.category_of(purchase.mcc)
    if isinstance(category, ExcludedCategory):
        return Earning(0, 0, 0, NO_MULTIPLIER, tier, (category.id,), (), expiry, month)

    tier_rule = rules.tiers[tier]
    rule_ids = [rules.base_rule]
    multiplier = tier_rule.multiplier
    if isinstance(category, BonusCategory):
        multiplier = category.multiplier * multiplier
        rule_ids.append(category.id)
    rule_ids.append(tier_rule.id)
    for campaign in rules.campaigns_at(purchase.mcc, local):
        multiplier *= campaign.multiplier
        rule_ids.append(campaign.id)

    caps: list[str] = []
    base = math.floor(purchase.spend_cny)
    total = math.floor(base * multiplier)
    if total > rules.caps.per_transaction:
        total = rules.caps.per_transaction
        caps.append(rules.caps.per_transaction_id)
    base = min(base, total)  # a purchase above the cap earns the cap, all of it base
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
        earning = earn(purchase, tier, self.bonus_used.get(key, 0), self.rules,
                       member_closed=not ledger.before_closure(purchase.posted_at))
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
