"""Members to call (domain/calls.py): entering decline, and a sharp drop of spend among the
most valuable of the month before."""

from services.analytics.domain.calls import calls, dropped
from services.analytics.domain.figures import CallNeeded
from services.analytics.domain.model import Model
from services.analytics.domain.stages import stage

from .population import every, member

MODEL = Model()
H1 = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]


def staged(x, month):
    return stage(x, month, MODEL)


def test_dropped_below_half_of_the_three_months_before():
    base = every(H1[:5], 1000)
    assert dropped(member("A", "2026-01", spend={**base, "2026-06": 499}), "2026-06", MODEL)
    assert not dropped(member("A", "2026-01", spend={**base, "2026-06": 500}), "2026-06", MODEL)
    assert not dropped(member("A", "2026-01"), "2026-06", MODEL)  # nothing to drop from


def test_reasons_once_per_member_and_month():
    falling = member("F", "2026-01", spend={**every(H1[:3], 1000), "2026-04": 800,
                                            "2026-05": 800, "2026-06": 100})
    # Jun: (800 + 800 + 100) / 3 = 566.67 against 1,000: decline; May was 0.867: maturity
    assert [staged(falling, m) for m in ("2026-05", "2026-06")] == ["maturity", "decline"]
    steady = member("S", "2026-01", spend=every(H1, 1000))
    rows = calls([steady, falling], "2026-06", MODEL, staged, top_before={"F", "S"})
    assert rows == [CallNeeded("F", "standard", "entered_decline,sharp_drop", "2026-06",
                               "decline")]
    # not among the most valuable: only the decline counts
    assert calls([falling], "2026-06", MODEL, staged, top_before=set())[0].reason == \
        "entered_decline"
