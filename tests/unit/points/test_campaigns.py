"""Campaigns: extra multipliers that apply only inside their validity window."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.points.domain.earning import earn
from services.points.domain.rules import parse_rules
from tests.unit.points.purchases import SHANGHAI, purchase

SPRING = {"id": "spring-x2", "starts_at": datetime(2026, 3, 1, tzinfo=SHANGHAI),
          "ends_at": datetime(2026, 4, 1, tzinfo=SHANGHAI), "multiplier": "2"}
WEEKENDS_2026 = {"id": "weekend-x2", "starts_at": datetime(2026, 1, 1, tzinfo=SHANGHAI),
                 "ends_at": datetime(2027, 1, 1, tzinfo=SHANGHAI), "weekdays": [6, 7],
                 "multiplier": "2"}


def with_campaigns(programme, *campaigns):
    programme["campaigns"] = list(campaigns)
    return parse_rules(programme)


@pytest.mark.parametrize("campaign, mcc, at, applies", [
    (SPRING, "5411", datetime(2026, 2, 28, 23, 59, 59, tzinfo=SHANGHAI), False),
    (SPRING, "5411", datetime(2026, 3, 1, 0, 0, tzinfo=SHANGHAI), True),   # start inclusive
    (SPRING, "5411", datetime(2026, 2, 28, 16, 0, tzinfo=UTC), True),      # same instant
    (SPRING, "5411", datetime(2026, 3, 31, 23, 59, 59, tzinfo=SHANGHAI), True),
    (SPRING, "5411", datetime(2026, 4, 1, 0, 0, tzinfo=SHANGHAI), False),  # end exclusive
    (WEEKENDS_2026, "5411", datetime(2026, 3, 14, 12, tzinfo=SHANGHAI), True),   # Saturday
    (WEEKENDS_2026, "5411", datetime(2026, 3, 15, 23, tzinfo=SHANGHAI), True),   # Sunday
    (WEEKENDS_2026, "5411", datetime(2026, 3, 13, 12, tzinfo=SHANGHAI), False),  # Friday
    # Saturday 00:30 in Shanghai is still Friday in UTC: the programme's zone decides.
    (WEEKENDS_2026, "5411", datetime(2026, 3, 13, 16, 30, tzinfo=UTC), True),
    (WEEKENDS_2026, "5411", datetime(2027, 1, 2, 12, tzinfo=SHANGHAI), False),   # after
    (WEEKENDS_2026, "6011", datetime(2026, 3, 14, 12, tzinfo=SHANGHAI), False),  # excluded
    ({**SPRING, "enabled": False}, "5411", datetime(2026, 3, 10, tzinfo=SHANGHAI), False),
    ({**SPRING, "mccs": ["5812"]}, "5411", datetime(2026, 3, 10, tzinfo=SHANGHAI), False),
    ({**SPRING, "mccs": ["5812"]}, "5812", datetime(2026, 3, 10, tzinfo=SHANGHAI), True),
])
def test_campaign_applies_only_inside_its_window(programme, campaign, mcc, at, applies):
    earning = earn(purchase(mcc, "100.00", at), "standard", 0,
                   with_campaigns(programme, campaign))
    assert (campaign["id"] in earning.rule_ids) is applies
    if mcc == "6011":
        assert earning.points == 0
        return
    expected = Decimal("1.0") * (2 if mcc == "5812" else 1) * (2 if applies else 1)
    assert earning.multiplier == expected
    assert earning.points == 100 * expected


def test_campaign_points_count_towards_the_monthly_bonus_cap(programme):
    rules = with_campaigns(programme, SPRING)
    earning = earn(purchase("5411", "100.00"), "standard", 19950, rules)
    assert (earning.points, earning.bonus, earning.caps_applied) == (150, 50,
                                                                     ("monthly-bonus-20000",))


def test_campaigns_multiply_each_other_and_the_tier(programme):
    rules = with_campaigns(programme, SPRING, {**WEEKENDS_2026, "multiplier": "1.5"})
    saturday = datetime(2026, 3, 14, 12, tzinfo=SHANGHAI)
    earning = earn(purchase("5812", "100.00", saturday), "gold", 0, rules)
    assert earning.multiplier == Decimal("7.2")  # 2 x 1.2 x 2 x 1.5
    assert earning.points == 720
    assert earning.rule_ids == ("base-1-per-cny", "dining-x2", "tier-gold-x1.2", "spring-x2",
                                "weekend-x2")


def test_the_shipped_example_campaign_is_switched_off(rules):
    saturday = datetime(2026, 3, 14, 12, tzinfo=SHANGHAI)
    assert [c.id for c in rules.campaigns] == ["weekend-double-2026"]
    assert earn(purchase("5411", "100.00", saturday), "standard", 0, rules).points == 100
