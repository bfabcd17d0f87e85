"""Issue 17's earning rules, as tables: the monthly bonus cap with and without the tier's
uplift counted against it, travel agencies as travel, the reviewed exclusions, the payment
channel rule and campaigns limited to channels."""

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from services.points.domain.earning import earn
from services.points.domain.ledger import MemberLedger
from services.points.domain.rerating import Rated, rerate
from services.points.domain.rules import parse_rules
from tests.unit.points.purchases import SHANGHAI, purchase

MONTHLY = "monthly-bonus-20000"
PER_TX = "per-transaction-50000"


@pytest.mark.parametrize("tier, mcc, spend, used, default, counted", [
    # (points, base, bonus, caps) with the uplift outside the cap (shipped) / counted.
    # Allowance used up: groceries keep the tier's x2.0, or fall to base.
    ("private_banking", "5411", "1000.00", 20000, (2000, 2000, 0, ()),
     (1000, 1000, 0, (MONTHLY,))),
    # Dining x2 x2.0: the category's part is cut either way.
    ("private_banking", "5812", "1000.00", 20000, (2000, 2000, 0, (MONTHLY,)),
     (1000, 1000, 0, (MONTHLY,))),
    ("private_banking", "5812", "1000.00", 19000, (3000, 2000, 1000, (MONTHLY,)),
     (2000, 1000, 1000, (MONTHLY,))),
    ("gold", "5411", "100.00", 0, (120, 120, 0, ()), (120, 100, 20, ())),
    ("standard", "7011", "1000.00", 20000, (1000, 1000, 0, (MONTHLY,)),
     (1000, 1000, 0, (MONTHLY,))),
    ("oto_fortune", "4722", "1000.00", 0, (4500, 1500, 3000, ()), (4500, 1000, 3500, ())),
    # 9247 x 6 = 55482 -> 50000, then the bonus above base (x tier or not) cut to 20000.
    ("private_banking", "7011", "9247.31", 0, (38494, 18494, 20000, (PER_TX, MONTHLY)),
     (29247, 9247, 20000, (PER_TX, MONTHLY))),
])
def test_monthly_bonus_cap_with_and_without_the_tier_counted(
        rules, counted_rules, tier, mcc, spend, used, default, counted):
    for programme, expected in ((rules, default), (counted_rules, counted)):
        earning = earn(purchase(mcc, spend), tier, used, programme)
        assert (earning.points, earning.base, earning.bonus, earning.caps_applied) == expected
        assert earning.points == earning.base + earning.bonus


@pytest.mark.parametrize("tier, points", [("standard", 300), ("gold", 360),
                                          ("oto_fortune", 450), ("private_banking", 600)])
def test_travel_agencies_are_travel(rules, tier, points):
    earning = earn(purchase("4722", "100.00"), tier, 0, rules)
    assert earning.points == points
    assert "travel-x3" in earning.rule_ids


NEW_EXCLUSIONS = {
    "4900": "excluded-utilities",
    "5960": "excluded-insurance", "6300": "excluded-insurance",
    "6381": "excluded-insurance", "6399": "excluded-insurance",
    "8211": "excluded-schools", "8220": "excluded-schools", "8241": "excluded-schools",
    "8244": "excluded-schools", "8249": "excluded-schools", "8299": "excluded-schools",
    "8062": "excluded-hospitals", "8011": "excluded-hospitals", "8099": "excluded-hospitals",
    "5300": "excluded-wholesale-clubs",
    "6529": "excluded-prepaid-loads", "6530": "excluded-prepaid-loads",
    "6540": "excluded-prepaid-loads",
    "5933": "excluded-pawn-shops",
    "5511": "excluded-car-purchases", "5521": "excluded-car-purchases",
}


@pytest.mark.parametrize("mcc, rule_id", sorted(NEW_EXCLUSIONS.items()))
@pytest.mark.parametrize("channel", [None, "alipay"])
def test_each_new_exclusion_earns_nothing_whatever_the_tier_or_channel(rules, mcc, rule_id,
                                                                      channel):
    earning = earn(replace(purchase(mcc, "8888.00"), channel=channel), "private_banking", 0,
                   rules)
    assert (earning.points, earning.rule_ids, earning.multiplier) == (0, (rule_id,),
                                                                      Decimal("1.0"))


def test_every_exclusion_gives_its_reason(rules):
    reasons = {c.id: c.reason for c in rules.excluded}
    assert set(NEW_EXCLUSIONS.values()) <= reasons.keys()
    assert all(len(reason) > 20 for reason in reasons.values())


THIRD_PARTY = "third-party-payment-x0.5"


@pytest.mark.parametrize("tier, mcc, spend, channel, points, base, multiplier, rule_ids", [
    ("standard", "5411", "100.00", "alipay", 50, 50, "0.5",
     ("base-1-per-cny", "tier-standard-x1.0", THIRD_PARTY)),
    ("standard", "5411", "100.00", "wechat_pay", 50, 50, "0.5",
     ("base-1-per-cny", "tier-standard-x1.0", THIRD_PARTY)),
    # x2 x2.0 x0.5: 2000, of which base x tier x rate = 1000 outside the cap.
    ("private_banking", "5812", "1000.00", "wechat_pay", 2000, 1000, "2",
     ("base-1-per-cny", "dining-x2", "tier-private-x2.0", THIRD_PARTY)),
    ("gold", "5411", "99.99", "alipay", 59, 59, "0.6",       # floor(99 x 1.2 x 0.5)
     ("base-1-per-cny", "tier-gold-x1.2", THIRD_PARTY)),
    ("standard", "5411", "100.00", "card", 100, 100, "1.0",  # the card itself: in full
     ("base-1-per-cny", "tier-standard-x1.0")),
    ("standard", "5411", "100.00", None, 100, 100, "1.0",    # channel unknown: in full
     ("base-1-per-cny", "tier-standard-x1.0")),
])
def test_third_party_payments_earn_at_their_rate(rules, tier, mcc, spend, channel, points,
                                                 base, multiplier, rule_ids):
    earning = earn(replace(purchase(mcc, spend), channel=channel), tier, 0, rules)
    assert (earning.points, earning.base, earning.rule_ids) == (points, base, rule_ids)
    assert earning.multiplier == Decimal(multiplier)


def test_a_channel_at_rate_zero_earns_nothing_with_its_rule_id(programme):
    programme["channels"][0].update(id="third-party-payment-none", rate="0")
    rules = parse_rules(programme)
    earning = earn(replace(purchase("5812", "500.00"), channel="alipay"), "gold", 0, rules)
    assert (earning.points, earning.rule_ids, earning.caps_applied) == (
        0, ("third-party-payment-none",), ())


SATURDAY = datetime(2026, 3, 14, 12, tzinfo=SHANGHAI)
CARD_ONLY = {"id": "card-weekend-x2", "starts_at": datetime(2026, 3, 1, tzinfo=SHANGHAI),
             "ends_at": datetime(2026, 4, 1, tzinfo=SHANGHAI), "weekdays": [6, 7],
             "channels": ["card"], "multiplier": "2"}


@pytest.mark.parametrize("campaign, channel, at, points, applies", [
    (CARD_ONLY, "card", SATURDAY, 200, True),
    (CARD_ONLY, "alipay", SATURDAY, 50, False),
    (CARD_ONLY, None, SATURDAY, 100, False),
    (CARD_ONLY, "card", datetime(2026, 3, 13, 12, tzinfo=SHANGHAI), 100, False),  # Friday
    (CARD_ONLY, "card", datetime(2026, 4, 4, 12, tzinfo=SHANGHAI), 100, False),   # after
    # No channel filter: third-party payments get the campaign too, at their rate.
    ({**CARD_ONLY, "channels": None}, "alipay", SATURDAY, 100, True),
    ({**CARD_ONLY, "channels": None}, None, SATURDAY, 200, True),
])
def test_campaign_windows_and_channels(programme, campaign, channel, at, points, applies):
    programme["campaigns"] = [{k: v for k, v in campaign.items() if v is not None}]
    rules = parse_rules(programme)
    earning = earn(replace(purchase("5411", "100.00", at), channel=channel), "standard", 0,
                   rules)
    assert earning.points == points
    assert (campaign["id"] in earning.rule_ids) is applies


WEEKEND_DINING = {"id": "weekend-dining-x1.5", "starts_at": datetime(2026, 12, 1, tzinfo=SHANGHAI),
                  "ends_at": datetime(2027, 1, 1, tzinfo=SHANGHAI), "weekdays": [6, 7],
                  "mccs": ["5812", "5813", "5814"], "channels": ["card"], "multiplier": "1.5"}
DEC_TUESDAY = datetime(2026, 12, 8, 12, tzinfo=SHANGHAI)
DEC_SATURDAY = datetime(2026, 12, 12, 19, tzinfo=SHANGHAI)


@pytest.mark.parametrize("tier, mcc, spend, at, channel, used, points, base, caps", [
    # docs/earning-rules.md "Worked examples", in its order.
    ("private_banking", "5411", "1000.00", DEC_TUESDAY, None, 20000, 2000, 2000, ()),
    ("private_banking", "5812", "1000.00", DEC_TUESDAY, None, 19000, 3000, 2000, (MONTHLY,)),
    ("gold", "4722", "1800.00", DEC_TUESDAY, None, 0, 6480, 2160, ()),
    ("standard", "5814", "27.00", DEC_TUESDAY, "alipay", 0, 27, 13, ()),
    ("oto_fortune", "8062", "3500.00", DEC_TUESDAY, None, 0, 0, 0, ()),
    ("gold", "5812", "468.00", DEC_SATURDAY, "card", 0, 1684, 561, ()),
    ("gold", "5812", "468.00", DEC_SATURDAY, "wechat_pay", 0, 561, 280, ()),
    ("private_banking", "7011", "9247.31", DEC_TUESDAY, None, 0, 38494, 18494,
     (PER_TX, MONTHLY)),
])
def test_the_documented_examples(programme, tier, mcc, spend, at, channel, used, points, base,
                                 caps):
    programme["campaigns"].append(WEEKEND_DINING)
    earning = earn(replace(purchase(mcc, spend, at), channel=channel), tier, used,
                   parse_rules(programme))
    assert (earning.points, earning.base, earning.caps_applied) == (points, base, caps)


def test_rerating_keeps_a_purchases_channel_rule(rules):
    """A late tier change rates a third-party payment again at its channel's rate."""
    paid = replace(purchase("5411", "100.00"), channel="alipay")
    first = earn(paid, "standard", 0, rules)
    assert first.points == 50
    ledger = MemberLedger(paid.member_id)
    ledger.credit("earn", paid.transaction_id, first.points, first.expires_on, paid.posted_at)
    [r], _ = rerate([Rated(paid, first, Decimal(0), 0)], [(paid.posted_at.date(), "gold")],
                    ledger, rules, paid.posted_at)
    assert (r.earning.points, r.points, r.earning.rule_ids[-1]) == (60, 10, THIRD_PARTY)
