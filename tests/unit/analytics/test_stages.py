"""Lifecycle stages (domain/stages.py): trial for 3 months, then the average margin of the
last 3 months against the 3 before (growth at +10 %, decline at -20 %). Spend only, so the
ratios are the spends' (margin = 0.6 % of spend)."""

import pytest

from services.analytics.domain.model import Model
from services.analytics.domain.stages import DECLINE, GROWTH, MATURITY, TRIAL, stage

from .population import member

MODEL = Model()
HALF = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]


def spends(*amounts: int) -> dict[str, int]:
    return dict(zip(HALF, amounts, strict=False))


@pytest.mark.parametrize(("spend", "month", "expected"), [
    (spends(1000, 1000, 1000), "2026-03", TRIAL),                    # 3rd month
    (spends(1000, 1000, 1000, 1200, 1200, 1200), "2026-06", GROWTH),  # 1,200 / 1,000 = 1.2
    (spends(1000, 1000, 1000, 1100, 1100, 1100), "2026-06", GROWTH),  # exactly +10 %
    (spends(1000, 1000, 1000, 1050, 1050, 1050), "2026-06", MATURITY),  # +5 %
    (spends(1000, 1000, 1000, 850, 850, 850), "2026-06", MATURITY),   # -15 %
    (spends(1000, 1000, 1000, 800, 800, 800), "2026-06", DECLINE),    # exactly -20 %
    (spends(1000, 1000, 1000, 700, 700, 700), "2026-06", DECLINE),
    # Apr: the window before is Jan alone (from the enrolment on): 1,066.67 / 1,000
    (spends(1000, 1000, 1000, 1200), "2026-04", MATURITY),
    (spends(0, 0, 0, 0, 0, 0), "2026-06", DECLINE),                   # nothing to keep
    (spends(0, 0, 0, 0, 0, 10), "2026-06", GROWTH),                   # from nothing
])
def test_stage(spend, month, expected):
    assert stage(member("A", "2026-01", spend=spend), month, MODEL) == expected


def test_assets_count_on_the_same_scale():
    # Spend flat, assets down by half: margin 6 + 150 -> 6 + 75, -48 %: decline
    x = member("A", "2026-01", spend=spends(1000, 1000, 1000, 1000, 1000, 1000),
               assets={m: 100_000 if m < "2026-04" else 50_000 for m in HALF})
    assert stage(x, "2026-06", MODEL) == DECLINE
