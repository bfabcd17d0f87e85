"""Expiry (end of the calendar year after the year earned) and the bonus-cap month are both
counted in Asia/Shanghai, whatever offset the purchase carries."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.points.domain.earning import bonus_month, earn, expires_on
from tests.unit.points.purchases import SHANGHAI, purchase

NEW_YORK_WINTER = timezone(timedelta(hours=-5))


@pytest.mark.parametrize("earned_at, expected", [
    (datetime(2025, 12, 31, 23, 59, 59, tzinfo=SHANGHAI), date(2026, 12, 31)),
    (datetime(2026, 1, 1, 0, 0, tzinfo=SHANGHAI), date(2027, 12, 31)),
    (datetime(2025, 12, 31, 15, 59, 59, tzinfo=UTC), date(2026, 12, 31)),  # 23:59:59 there
    (datetime(2025, 12, 31, 16, 0, tzinfo=UTC), date(2027, 12, 31)),       # already 2026
    (datetime(2025, 12, 31, 11, 0, tzinfo=NEW_YORK_WINTER), date(2027, 12, 31)),
    (datetime(2025, 1, 1, 0, 0, tzinfo=SHANGHAI), date(2026, 12, 31)),
    (datetime(2028, 2, 29, 12, tzinfo=SHANGHAI), date(2029, 12, 31)),
])
def test_points_expire_at_the_end_of_the_next_calendar_year(rules, earned_at, expected):
    assert expires_on(earned_at, rules) == expected
    assert earn(purchase("5411", "100.00", earned_at), "standard", 0, rules).expires_on == expected


@pytest.mark.parametrize("earned_at, month", [
    (datetime(2026, 3, 31, 23, 59, 59, tzinfo=SHANGHAI), date(2026, 3, 1)),
    (datetime(2026, 3, 31, 16, 30, tzinfo=UTC), date(2026, 4, 1)),   # 00:30 on 1 April there
    (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), date(2027, 1, 1)),
])
def test_the_bonus_cap_month_is_the_calendar_month_in_shanghai(rules, earned_at, month):
    assert bonus_month(earned_at, rules) == month
    assert earn(purchase("5812", "100.00", earned_at), "standard", 0, rules).month == month


def test_a_new_month_has_a_fresh_bonus_allowance(rules):
    april = datetime(2026, 4, 1, 0, 0, tzinfo=SHANGHAI)
    # The caller looks up the allowance by month: April's usage starts at zero.
    earning = earn(purchase("7011", "1000.00", april), "standard", 0, rules)
    assert (earning.points, earning.bonus, earning.caps_applied) == (3000, 2000, ())
