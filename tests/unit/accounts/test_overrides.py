"""The manual override: sets the effective tier until a date, assets decide underneath and
again from the day after."""

from dataclasses import replace
from datetime import date

import pytest

from services.accounts.domain.tiers import Override, with_override, without_override
from tests.unit.accounts.months import GOLD, PRIVATE, STANDARD, decide, facts

TODAY = date(2026, 3, 5)
UNTIL = date(2026, 3, 31)
GOLD_MEMBER = facts([("2026-01", GOLD)])


def set_override(programme, override: Override, today: date = TODAY):
    """The gold member gets `override` on `today`."""
    return decide(programme, GOLD_MEMBER,
                  with_override(GOLD_MEMBER, replace(override, starts_on=today)), today)


def overridden(tier: str, snapshots=(("2026-01", GOLD),)):
    """The member's facts once an override to `tier` was set on TODAY until UNTIL."""
    return with_override(facts(list(snapshots)), Override(7, tier, UNTIL, TODAY))


def test_an_override_changes_the_tier_from_today(programme):
    decision = set_override(programme, Override(7, "private_banking", UNTIL, TODAY))
    assert (decision.state.tier, decision.state.asset_tier) == ("private_banking", "gold")
    assert decision.state.since == TODAY
    change = decision.change
    assert (change.old_tier, change.new_tier, change.reason, change.effective_date,
            change.override_id) == ("gold", "private_banking", "manual_override", TODAY, 7)


def test_an_override_to_the_current_tier_announces_nothing(programme):
    decision = set_override(programme, Override(7, "gold", UNTIL, TODAY))
    assert decision.change is None and decision.state.override is not None


def test_an_override_cannot_end_in_the_past(programme):
    with pytest.raises(ValueError):
        set_override(programme, Override(7, "gold", date(2026, 3, 4), TODAY))


def test_assets_decide_underneath_an_override_without_announcing(programme):
    # March's assets take effect on 1 April, under the override still in force.
    before = overridden("oto_fortune")
    decision = decide(programme, before, overridden(
        "oto_fortune", [("2026-01", GOLD), ("2026-03", PRIVATE)]), TODAY)
    assert decision.change is None
    assert (decision.state.tier, decision.state.asset_tier) == ("oto_fortune", "private_banking")


def test_a_late_month_corrects_the_days_before_the_override(programme):
    """February's assets take effect on 1 March, before the override set on 5 March: those
    days are corrected, and the override's tier restated as the last word."""
    before = overridden("oto_fortune")
    decision = decide(programme, before, overridden(
        "oto_fortune", [("2026-01", GOLD), ("2026-02", PRIVATE)]), TODAY)
    assert [(c.old_tier, c.new_tier, c.reason, c.effective_date) for c in decision.changes] == [
        ("gold", "private_banking", "assets_qualified", date(2026, 3, 1)),
        ("oto_fortune", "oto_fortune", "manual_override", TODAY)]
    assert (decision.state.tier, decision.state.since) == ("oto_fortune", TODAY)


@pytest.mark.parametrize("today, ends", [
    (UNTIL, False),                 # the last day still has the override
    (date(2026, 4, 1), True),       # the day after: assets decide again
])
def test_the_override_ends_the_day_after_until(programme, today, ends):
    before = overridden("private_banking")
    decision = decide(programme, before, before, today)
    assert (decision.state.override is None) is ends
    if ends:
        change = decision.change
        assert (change.old_tier, change.new_tier, change.reason, change.effective_date) == (
            "private_banking", "gold", "override_ended", date(2026, 4, 1))


def test_an_ended_override_is_noticed_by_the_next_snapshot(programme):
    before = overridden("private_banking")
    decision = decide(programme, before, overridden(
        "private_banking", [("2026-01", GOLD), ("2026-02", STANDARD)]), date(2026, 4, 2))
    assert decision.state.override is None
    assert (decision.change.new_tier, decision.change.reason) == ("gold", "override_ended")


def test_withdrawing_an_override_ends_it_today(programme):
    before = overridden("standard")
    decision = decide(programme, before, without_override(before, date(2026, 3, 10)),
                      date(2026, 3, 10))
    assert decision.change.effective_date == date(2026, 3, 10)
    assert decision.state.tier == "gold"
