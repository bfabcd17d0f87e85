"""How many points one purchase earns: categories, tiers, rounding and caps."""

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from services.points.domain.earning import Accrual, earn
from services.points.domain.ledger import MemberLedger
from tests.unit.points.purchases import SHANGHAI, purchase

EXCLUDED = {
    "6010": "excluded-cash-quasi-cash", "6011": "excluded-cash-quasi-cash",
    "6012": "excluded-cash-quasi-cash", "6051": "excluded-cash-quasi-cash",
    "4829": "excluded-money-transfer",
    "7995": "excluded-gambling",
    "9211": "excluded-government-tax", "9222": "excluded-government-tax",
    "9311": "excluded-government-tax", "9399": "excluded-government-tax",
    "8398": "excluded-charity",
    "6513": "excluded-real-estate",
}


@pytest.mark.parametrize("mcc, rule_id", sorted(EXCLUDED.items()))
@pytest.mark.parametrize("tier", ["standard", "private_banking"])
def test_excluded_categories_earn_nothing(rules, mcc, rule_id, tier):
    earning = earn(purchase(mcc, "8888.00"), tier, 0, rules)
    assert (earning.points, earning.base, earning.bonus) == (0, 0, 0)
    assert earning.rule_ids == (rule_id,)
    assert earning.caps_applied == ()
    assert earning.multiplier == Decimal("1.0")


@pytest.mark.parametrize("mcc, points, category", [
    ("5411", 100, None),         # groceries: base only
    ("5812", 200, "dining-x2"),
    ("5813", 200, "dining-x2"),
    ("5814", 200, "dining-x2"),
    ("3000", 300, "travel-x3"),  # airlines 3000-3299, both ends
    ("3150", 300, "travel-x3"),
    ("3299", 300, "travel-x3"),
    ("4511", 300, "travel-x3"),
    ("3501", 300, "travel-x3"),  # hotels 3501-3999, both ends
    ("3999", 300, "travel-x3"),
    ("7011", 300, "travel-x3"),
    ("3300", 100, None),         # just outside the ranges
    ("3500", 100, None),
    ("4000", 100, None),
    ("5815", 100, None),
])
def test_bonus_categories(rules, mcc, points, category):
    earning = earn(purchase(mcc, "100.00"), "standard", 0, rules)
    assert earning.points == points
    assert (earning.base, earning.bonus) == (100, points - 100)
    expected = ("base-1-per-cny", *([category] if category else []), "tier-standard-x1.0")
    assert earning.rule_ids == expected


@pytest.mark.parametrize("tier, mcc, points, multiplier, tier_rule", [
    ("standard", "5411", 100, "1.0", "tier-standard-x1.0"),
    ("gold", "5411", 120, "1.2", "tier-gold-x1.2"),
    ("oto_fortune", "5411", 150, "1.5", "tier-oto-fortune-x1.5"),
    ("private_banking", "5411", 200, "2.0", "tier-private-x2.0"),
    ("gold", "5812", 240, "2.4", "tier-gold-x1.2"),          # category x tier
    ("oto_fortune", "7011", 450, "4.5", "tier-oto-fortune-x1.5"),
    ("private_banking", "4511", 600, "6.0", "tier-private-x2.0"),
])
def test_tier_multipliers(rules, tier, mcc, points, multiplier, tier_rule):
    earning = earn(purchase(mcc, "100.00"), tier, 0, rules)
    assert (earning.points, earning.multiplier, earning.tier) == (points, Decimal(multiplier), tier)
    assert earning.rule_ids[-1] == tier_rule


@pytest.mark.parametrize("tier, mcc, spend, points, base", [
    ("standard", "5411", "99.99", 99, 99),     # whole CNY only
    ("standard", "5411", "0.99", 0, 0),        # under 1 CNY earns nothing
    ("gold", "5411", "10.99", 12, 10),         # floor(10 x 1.2)
    ("gold", "5411", "4.00", 4, 4),            # floor(4.8)
    ("gold", "5411", "1.00", 1, 1),            # floor(1.2)
    ("oto_fortune", "5411", "3.00", 4, 3),     # floor(4.5)
    ("gold", "5812", "468.00", 1123, 468),     # floor(1123.2)
    ("oto_fortune", "5812", "0.50", 0, 0),
])
def test_points_are_floored_per_transaction(counted_rules, tier, mcc, spend, points, base):
    earning = earn(purchase(mcc, spend), tier, 0, counted_rules)
    assert (earning.points, earning.base, earning.bonus) == (points, base, points - base)


@pytest.mark.parametrize("tier, mcc, spend, points, base, caps", [
    ("standard", "5411", "50000.00", 50000, 50000, ()),        # exactly the cap
    ("standard", "5411", "50000.99", 50000, 50000, ()),        # floored first
    ("standard", "5411", "60000.00", 50000, 50000, ("per-transaction-50000",)),
    ("standard", "5812", "30000.00", 50000, 30000, ("per-transaction-50000",)),
    # 9247 x 6 = 55482 -> 50000; its 40753 bonus is then cut to the month's 20000.
    ("private_banking", "7011", "9247.31", 29247, 9247,
     ("per-transaction-50000", "monthly-bonus-20000")),
])
def test_per_transaction_cap(counted_rules, tier, mcc, spend, points, base, caps):
    earning = earn(purchase(mcc, spend), tier, 0, counted_rules)
    assert (earning.points, earning.base, earning.caps_applied) == (points, base, caps)
    assert earning.points == earning.base + earning.bonus


@pytest.mark.parametrize("used_before, mcc, spend, points, bonus, capped", [
    (0, "7011", "6000.00", 18000, 12000, False),
    (12000, "7011", "6000.00", 14000, 8000, True),   # only 8000 of its 12000 bonus fits
    (20000, "7011", "1000.00", 1000, 0, True),       # allowance used up: base only
    (20000, "5411", "100.00", 100, 0, False),        # no bonus to cut
    (19950, "5812", "100.00", 150, 50, True),
    (25000, "5812", "100.00", 100, 0, True),         # more used than the cap (cap lowered)
])
def test_monthly_bonus_cap(rules, used_before, mcc, spend, points, bonus, capped):
    earning = earn(purchase(mcc, spend), "standard", used_before, rules)
    assert (earning.points, earning.bonus) == (points, bonus)
    assert ("monthly-bonus-20000" in earning.caps_applied) is capped


def test_monthly_bonus_cap_accumulates_across_transactions(rules):
    used, earned = 0, []
    for spend in ("6000.00", "6000.00", "1000.00", "100.00"):
        earning = earn(purchase("7011", spend), "standard", used, rules)
        used += earning.bonus
        earned.append(earning.points)
    assert earned == [18000, 14000, 1000, 100]
    assert used == 20000


def test_a_batch_shares_the_months_bonus_and_credits_each_ledger(counted_rules):
    april = datetime(2026, 4, 1, 12, tzinfo=SHANGHAI)
    ledgers = {"C0000000001": MemberLedger("C0000000001"),
               "C0000000002": MemberLedger("C0000000002", closed=True)}
    accrual = Accrual(counted_rules, {"C0000000001": [(date(2026, 4, 1), "gold")]},
                      {("C0000000001", date(2026, 3, 1)): 12000})
    march = [purchase("7011", spend) for spend in ("6000.00", "6000.00")]
    earned = [accrual.earn(p, ledgers["C0000000001"]) for p in march]
    earned.append(accrual.earn(purchase("7011", "1000.00", april), ledgers["C0000000001"]))
    closed = replace(purchase("5411", "100.00"), member_id="C0000000002")
    earned.append(accrual.earn(closed, ledgers["C0000000002"]))
    # March had 8000 bonus left; April is gold (x3.6) with a fresh allowance.
    assert [(e.points, e.bonus, e.tier) for e in earned] == [
        (14000, 8000, "standard"), (6000, 0, "standard"), (3600, 2600, "gold"),
        (0, 0, "standard")]
    assert accrual.bonus_used == {("C0000000001", date(2026, 3, 1)): 20000,
                                  ("C0000000001", date(2026, 4, 1)): 2600}
    assert ledgers["C0000000001"].balance == 23600 and ledgers["C0000000002"].postings == []
    assert [p for p, _ in accrual.earned] == [*march, replace(march[0], posted_at=april,
                                              spend_cny=Decimal("1000.00")), closed]
