"""Retention and churn per month and tier (domain/retention.py) on a hand-computed table,
with churn after 2 inactive months:

    member  enrolled  tier              activity        closed   Mar            Apr
    A       Jan       standard          Jan-Apr         -        retained       retained
    B       Jan       gold              Jan-Apr         Mar      churned        -
    C       Jan       standard          Jan only        -        churned (lapsed) -
    D       Mar       standard          none            -        -              retained
    E       Jan       gold -> standard  Jan-Apr         -        retained(gold) retained(std)
              (standard from 15 Mar)
"""

from datetime import date

import pytest

from services.analytics.domain.figures import Retention
from services.analytics.domain.retention import at_start, retention, retention_rates

from .population import JAN_APR, every, member

MEMBERS = [
    member("A", "2026-01", spend=every(JAN_APR, 100)),
    member("B", "2026-01", tier="gold", closed="2026-03", spend=every(JAN_APR, 100)),
    member("C", "2026-01", spend={"2026-01": 100}),
    member("D", "2026-03"),
    member("E", "2026-01", tier="gold", spend=every(JAN_APR, 100),
           changes=((date(2026, 3, 15), "standard"),)),
]
TIERS = ["standard", "gold"]


def test_retention_per_month_and_tier():
    rows = retention(MEMBERS, ["2026-03", "2026-04"], TIERS, inactive_months=2)
    assert rows == [
        Retention("2026-03", "standard", at_start=2, retained=1, churned=1),  # A; C lapsed
        Retention("2026-03", "gold", at_start=2, retained=1, churned=1),      # E; B closed
        Retention("2026-03", "all", at_start=4, retained=2, churned=2),
        Retention("2026-04", "standard", at_start=3, retained=3, churned=0),  # A, D, E
        Retention("2026-04", "gold", at_start=0, retained=0, churned=0),
        Retention("2026-04", "all", at_start=3, retained=3, churned=0),
    ]
    assert rows[2].retention_rate == 0.5 and rows[2].churn_rate == 0.5
    assert rows[4].retention_rate == 0.0  # nobody at the start: no rate, not a failure


def test_rates_over_the_months():
    rows = retention(MEMBERS, ["2026-03", "2026-04"], TIERS, inactive_months=2)
    assert retention_rates(rows) == {"standard": 4 / 5, "gold": 1 / 2, "all": 5 / 7}


@pytest.mark.parametrize(("activity", "month", "expected"), [
    ({"2026-01": 100}, "2026-03", True),        # lapsed at the end of Mar, not before
    ({"2026-01": 100}, "2026-04", False),       # lapsed at the end of Mar: gone
    ({"2026-01": 100, "2026-04": 100}, "2026-05", True),  # came back in Apr: counted again
    ({}, "2026-02", True),                      # the enrolment month counts as activity
])
def test_a_lapsed_member_is_not_at_the_start_until_they_come_back(activity, month, expected):
    assert at_start(member("X", "2026-01", spend=activity), month, 2) is expected
