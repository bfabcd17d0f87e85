"""Alliance offers: validity window, tier eligibility, per-member limit per period."""

from datetime import date

import pytest

from services.rewards.domain.errors import Refused
from services.rewards.domain.offers import Offer, period_key, redeem_offer

COFFEE = Offer(id="off_coffee", title="星巴克 中杯饮品兑换券", points_price=800,
               discount_percent=None, valid_from=date(2026, 1, 1),
               valid_until=date(2026, 12, 31), eligible_tiers=frozenset({"gold", "oto_fortune"}),
               limit_per_period=2, period="month")
DISCOUNT = Offer(id="off_discount", title="用餐88折", points_price=None, discount_percent=12,
                 valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31),
                 eligible_tiers=frozenset({"standard"}), limit_per_period=1, period="day")


@pytest.mark.parametrize(("offer", "tier", "today", "used", "outcome"), [
    (COFFEE, "gold", date(2026, 6, 1), 0, 800),
    (COFFEE, "gold", date(2026, 12, 31), 1, 800),           # last day, last use
    (COFFEE, "gold", date(2026, 6, 1), 2, "limit_reached"),
    (COFFEE, "standard", date(2026, 6, 1), 0, "not_eligible"),
    (COFFEE, "gold", date(2027, 1, 1), 0, "not_eligible"),   # after the window
    (COFFEE, "gold", date(2025, 12, 31), 0, "not_eligible"),  # before it
    (DISCOUNT, "standard", date(2026, 6, 1), 0, 0),           # a discount costs no points
])
def test_redeeming_an_offer(offer, tier, today, used, outcome):
    if isinstance(outcome, int):
        assert redeem_offer(offer, tier, today, used) == outcome
    else:
        with pytest.raises(Refused) as refused:
            redeem_offer(offer, tier, today, used)
        assert refused.value.code == outcome


@pytest.mark.parametrize(("period", "key"), [
    ("day", "2026-03-09"), ("month", "2026-03"), ("year", "2026")])
def test_limits_count_per_period(period, key):
    assert period_key(period, date(2026, 3, 9)) == key


def test_an_unknown_period_is_an_error():
    with pytest.raises(ValueError):
        period_key("week", date(2026, 3, 9))
