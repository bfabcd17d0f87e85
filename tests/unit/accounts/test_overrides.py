"""The manual override: sets the effective tier until a date, assets decide underneath and
again from the day after."""

from datetime import date

import pytest

from services.accounts.domain.tiers import Override, end_override, on_snapshot, set_override
from tests.unit.accounts.months import GOLD, PRIVATE, STANDARD, feed

TODAY = date(2026, 3, 5)
UNTIL = date(2026, 3, 31)


def gold_member(programme):
    state, _ = feed(programme, [("2026-01", GOLD)])
    return state


def test_an_override_changes_the_tier_from_today(programme):
    decision = set_override(gold_member(programme), Override(7, "private_banking", UNTIL), TODAY)
    assert (decision.state.tier, decision.state.asset_tier) == ("private_banking", "gold")
    assert decision.state.since == TODAY
    change = decision.change
    assert (change.old_tier, change.new_tier, change.reason, change.effective_date,
            change.override_id) == ("gold", "private_banking", "manual_override", TODAY, 7)


def test_an_override_to_the_current_tier_announces_nothing(programme):
    decision = set_override(gold_member(programme), Override(7, "gold", UNTIL), TODAY)
    assert decision.change is None and decision.state.override is not None


def test_an_override_cannot_end_in_the_past(programme):
    with pytest.raises(ValueError):
        set_override(gold_member(programme), Override(7, "gold", date(2026, 3, 4)), TODAY)


def test_assets_decide_underneath_an_override_without_announcing(programme):
    state = set_override(gold_member(programme), Override(7, "oto_fortune", UNTIL), TODAY).state
    history = {"2026-01": GOLD, "2026-02": PRIVATE}
    decision = on_snapshot(state, history, "2026-02", TODAY, programme)
    assert decision.change is None
    assert (decision.state.tier, decision.state.asset_tier) == ("oto_fortune", "private_banking")


@pytest.mark.parametrize("today, ends", [
    (UNTIL, False),                 # the last day still has the override
    (date(2026, 4, 1), True),       # the day after: assets decide again
])
def test_the_override_ends_the_day_after_until(programme, today, ends):
    state = set_override(gold_member(programme), Override(7, "private_banking", UNTIL),
                         TODAY).state
    decision = end_override(state, today)
    assert (decision.state.override is None) is ends
    if ends:
        change = decision.change
        assert (change.old_tier, change.new_tier, change.reason, change.effective_date) == (
            "private_banking", "gold", "override_ended", date(2026, 4, 1))


def test_an_ended_override_is_noticed_by_the_next_snapshot(programme):
    state = set_override(gold_member(programme), Override(7, "private_banking", UNTIL),
                         TODAY).state
    history = {"2026-01": GOLD, "2026-02": STANDARD}
    decision = on_snapshot(state, history, "2026-02", date(2026, 4, 2), programme)
    assert decision.state.override is None
    assert (decision.change.new_tier, decision.change.reason) == ("gold", "override_ended")


def test_withdrawing_an_override_ends_it_today(programme):
    state = set_override(gold_member(programme), Override(7, "standard", UNTIL), TODAY).state
    decision = end_override(state, date(2026, 3, 10), early=True)
    assert decision.change.effective_date == date(2026, 3, 10)
    assert decision.state.tier == "gold"
