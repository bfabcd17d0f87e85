"""Tier rules over month sequences: upgrades at once, downgrades only after 3 consecutive
months below, decided in event time: a late month decides from its true date (correcting
what was announced), a duplicate changes nothing, and the arrival order never changes the
outcome."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.tiers import rank
from services.accounts.domain.programme import parse_programme
from services.accounts.domain.tiers import (
    first_day_after,
    month_number,
    month_of,
    months_below,
    timeline,
)
from tests.unit.accounts.months import (
    GOLD,
    OTO,
    PRIVATE,
    STANDARD,
    TODAY,
    decide,
    facts,
    feed,
    summary,
)

CASES = {
    "no change while standard": (
        [("2026-01", STANDARD), ("2026-02", Decimal("49999.99"))], "standard", []),
    "upgrade in the first qualifying month, effective the 1st of the next": (
        [("2026-01", STANDARD), ("2026-02", Decimal("50000.00"))], "gold",
        [("standard", "gold", "assets_qualified", "2026-03-01")]),
    "upgrade straight past several tiers": (
        [("2026-01", PRIVATE)], "private_banking",
        [("standard", "private_banking", "assets_qualified", "2026-02-01")]),
    "stepwise upgrades": (
        [("2026-01", GOLD), ("2026-02", OTO), ("2026-03", PRIVATE)], "private_banking",
        [("standard", "gold", "assets_qualified", "2026-02-01"),
         ("gold", "oto_fortune", "assets_qualified", "2026-03-01"),
         ("oto_fortune", "private_banking", "assets_qualified", "2026-04-01")]),
    "two months below: still in grace": (
        [("2026-01", OTO), ("2026-02", GOLD), ("2026-03", GOLD)], "oto_fortune",
        [("standard", "oto_fortune", "assets_qualified", "2026-02-01")]),
    "third month below: down to what the newest month qualifies for": (
        [("2026-01", OTO), ("2026-02", GOLD), ("2026-03", GOLD), ("2026-04", GOLD)], "gold",
        [("standard", "oto_fortune", "assets_qualified", "2026-02-01"),
         ("oto_fortune", "gold", "assets_below", "2026-05-01")]),
    "recovery inside the grace period resets it": (
        [("2026-01", OTO), ("2026-02", GOLD), ("2026-03", GOLD), ("2026-04", OTO),
         ("2026-05", GOLD), ("2026-06", GOLD)], "oto_fortune",
        [("standard", "oto_fortune", "assets_qualified", "2026-02-01")]),
    "a higher tier inside the grace period is an upgrade": (
        [("2026-01", OTO), ("2026-02", GOLD), ("2026-03", PRIVATE)], "private_banking",
        [("standard", "oto_fortune", "assets_qualified", "2026-02-01"),
         ("oto_fortune", "private_banking", "assets_qualified", "2026-04-01")]),
    "multi-level drop after the grace period": (
        [("2025-12", PRIVATE), ("2026-01", STANDARD), ("2026-02", GOLD),
         ("2026-03", STANDARD)], "standard",
        [("standard", "private_banking", "assets_qualified", "2026-01-01"),
         ("private_banking", "standard", "assets_below", "2026-04-01")]),
    "drop across a year end": (
        [("2025-09", PRIVATE), ("2025-10", OTO), ("2025-11", OTO), ("2025-12", GOLD)], "gold",
        [("standard", "private_banking", "assets_qualified", "2025-10-01"),
         ("private_banking", "gold", "assets_below", "2026-01-01")]),
    "a missing month breaks the run of months below": (
        [("2026-01", OTO), ("2026-02", GOLD), ("2026-04", GOLD)], "oto_fortune",
        [("standard", "oto_fortune", "assets_qualified", "2026-02-01")]),
    "... until the run is complete again": (
        [("2026-01", OTO), ("2026-02", GOLD), ("2026-04", GOLD), ("2026-05", GOLD),
         ("2026-06", GOLD)], "gold",
        [("standard", "oto_fortune", "assets_qualified", "2026-02-01"),
         ("oto_fortune", "gold", "assets_below", "2026-07-01")]),
    "a duplicate month changes nothing": (
        [("2026-01", GOLD), ("2026-01", GOLD), ("2026-01", PRIVATE)], "gold",
        [("standard", "gold", "assets_qualified", "2026-02-01")]),
    # Event time (issue 13): a late month decides as if it had come in order.
    "a late older month upgrades from its true date": (
        [("2026-03", STANDARD), ("2026-02", PRIVATE)], "private_banking",
        [("standard", "private_banking", "assets_qualified", "2026-03-01")]),
    "late older months complete the run below: the downgrade from its true date": (
        [("2026-01", GOLD), ("2026-04", STANDARD), ("2026-05", STANDARD),
         ("2026-02", STANDARD), ("2026-03", STANDARD)], "standard",
        [("standard", "gold", "assets_qualified", "2026-02-01"),
         ("gold", "standard", "assets_below", "2026-05-01")]),
    "a late month fills the gap: the run it completes decides": (
        [("2026-01", GOLD), ("2026-02", STANDARD), ("2026-04", STANDARD),
         ("2026-03", STANDARD), ("2026-05", STANDARD)], "standard",
        [("standard", "gold", "assets_qualified", "2026-02-01"),
         ("gold", "standard", "assets_below", "2026-05-01")]),
    "months before the tier was reached do not count as grace": (
        [("2026-01", STANDARD), ("2026-02", STANDARD), ("2026-03", GOLD),
         ("2026-04", STANDARD)], "gold",
        [("standard", "gold", "assets_qualified", "2026-04-01")]),
}


@pytest.mark.parametrize("snapshots, tier, changes", CASES.values(), ids=CASES.keys())
def test_tier_over_months(programme, snapshots, tier, changes):
    state, happened = feed(programme, snapshots)
    assert state.tier == state.asset_tier == tier
    assert summary(happened) == changes
    if happened:
        assert state.since == happened[-1].effective_date
        assert happened[-1].assets_month is not None


def test_grace_length_comes_from_the_programme(programme_data):
    programme_data["downgrade_after_months"] = 1
    one_month = parse_programme(programme_data)
    state, changes = feed(one_month, [("2026-01", GOLD), ("2026-02", STANDARD)])
    assert state.tier == "standard"
    assert summary(changes)[-1] == ("gold", "standard", "assets_below", "2026-03-01")


def test_months_below_counts_the_grace_used(programme):
    state, _ = feed(programme, [("2026-01", OTO), ("2026-02", GOLD), ("2026-03", STANDARD)])
    history = {"2026-01": OTO, "2026-02": GOLD, "2026-03": STANDARD}
    assert months_below(state, history, programme) == 2
    state, _ = feed(programme, [("2026-01", OTO), ("2026-02", GOLD), ("2026-03", OTO)])
    assert months_below(state, {"2026-01": OTO, "2026-02": GOLD, "2026-03": OTO},
                        programme) == 0


def test_snapshots_before_enrolment_decide_from_every_month(programme):
    """January qualified for private banking; February, below it, is the first month of
    grace (the newest month alone would have said gold)."""
    enrolled = date(2026, 3, 2)
    nothing = facts(enrolled=enrolled)
    decision = decide(programme, nothing, facts([("2026-01", PRIVATE), ("2026-02", GOLD)],
                                                enrolled=enrolled))
    assert decision.state.tier == "private_banking"
    assert decision.change.reason == "assets_qualified"
    assert decision.change.effective_date == date(2026, 2, 1)
    assert decide(programme, nothing, nothing).change is None


@pytest.mark.parametrize("month, first", [("2026-01", date(2026, 2, 1)),
                                          ("2025-12", date(2026, 1, 1))])
def test_first_day_after(month, first):
    assert first_day_after(month) == first
    assert month_of(month_number(month)) == month


MONTHS = [month_of(month_number("2025-01") + i) for i in range(12)]
ASSETS = st.sampled_from([STANDARD, GOLD, OTO, PRIVATE])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(MONTHS), ASSETS), max_size=30))
def test_the_order_of_arrival_never_changes_the_outcome(programme, snapshots):
    """Whatever the order of arrival: the status and the timeline are those of the same
    months in calendar order, and what was announced, the last word per day, says the same
    tier on every day; redelivered months change nothing."""
    state, changes = feed(programme, snapshots)
    first_seen: dict[str, Decimal] = {}
    for month, assets in snapshots:
        first_seen.setdefault(month, assets)
    in_order = sorted(first_seen.items())
    assert feed(programme, in_order)[0] == state
    line = timeline(facts(in_order), TODAY, programme)
    announced: dict[date, str] = {}
    for change in changes:
        announced[change.effective_date] = change.new_tier
    for day in announced.keys() | {c.effective_date for c in line.changes}:
        said = announced[max(d for d in announced if d <= day)]
        assert said == line.tier_on(day)
    assert not changes or changes[-1].new_tier == state.tier  # the last word is current
    # Feeding the same arrivals again, each twice, gives the same result.
    doubled = [s for pair in zip(snapshots, snapshots, strict=True) for s in pair]
    assert feed(programme, doubled) == (state, changes)
    if first_seen:
        newest = max(first_seen)
        # The effective tier is never below what the newest month qualifies for.
        assert rank(programme.qualifies_for(first_seen[newest])) <= rank(state.tier)
