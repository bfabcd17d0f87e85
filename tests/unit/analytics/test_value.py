"""Lifetime value (domain/value.py): margin from spend and assets, the infinite-horizon
formula, and the distribution's percentiles, on hand-computed numbers."""

from decimal import Decimal

import pytest

from services.analytics.domain.model import Model
from services.analytics.domain.value import (
    average_margin,
    distribution,
    lifetime_value,
    monthly_margin,
)

from .population import member

MODEL = Model()  # interchange 0.6 %, net interest margin 1.8 % a year, discount 10 % a year
MONTHS = ["2026-01", "2026-02", "2026-03"]


def test_margin_from_spend_and_assets():
    # 0.006 x 1,000 + 0.018 / 12 x 100,000 = 6 + 150
    x = member("A", "2026-01", spend={"2026-01": 1000}, assets={"2026-01": 100_000})
    assert monthly_margin(x, "2026-01", MODEL) == Decimal("156")


def test_average_margin_over_the_window_from_enrolment_on():
    # Feb enrolment: only Feb and Mar count, (0.006 x 500 + 0.006 x 1,500) / 2 = 6
    x = member("A", "2026-02", spend={"2026-02": 500, "2026-03": 1500})
    assert average_margin(x, "2026-03", MODEL) == Decimal("6")


@pytest.mark.parametrize(("margin", "rate", "expected"), [
    # 156 x (1 + 0.1/12) / (1 + 0.1/12 - 0.9) = 156 x 121/13 = 1,452
    ("156", 0.9, "1452.00"),
    # r = 0: the first month only
    ("156", 0.0, "156.00"),
    # r = 1: margin x (1 + d) / d = 100 x 121 = 12,100
    ("100", 1.0, "12100.00"),
])
def test_lifetime_value(margin, rate, expected):
    assert lifetime_value(Decimal(margin), rate, MODEL) == Decimal(expected)


def test_distribution_interpolates_between_ranks():
    values = [Decimal(v) for v in (50, 10, 40, 20, 30)]
    d = distribution("gold", values)
    # positions p x (n - 1): p10 -> 0.4 (10 + 0.4 x 10), p90 -> 3.6 (40 + 0.6 x 10)
    assert (d.members, d.total, d.mean) == (5, Decimal("150.00"), Decimal("30.00"))
    assert (d.p10, d.p25, d.median, d.p75, d.p90) == tuple(
        Decimal(v) for v in ("14.00", "20.00", "30.00", "40.00", "46.00"))


def test_an_empty_tier_has_zeros():
    d = distribution("private_banking", [])
    assert d.members == 0 and d.total == d.p90 == Decimal("0.00")
