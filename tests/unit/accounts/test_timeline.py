"""The tier timeline as a pure function of the facts (domain/tiers.py), and the corrections
that bring what was announced in line with it (domain/corrections.py)."""

from datetime import date
from itertools import permutations

import pytest

from services.accounts.domain.corrections import announcements
from services.accounts.domain.tiers import Override, timeline
from tests.unit.accounts.months import GOLD, OTO, PRIVATE, STANDARD, facts, feed, summary

D = date.fromisoformat
TODAY = D("2026-09-15")


def o(id_, tier, starts, until, ended=None) -> Override:
    return Override(id_, tier, D(until), D(starts), ended and D(ended))


def rows(changes) -> list[tuple]:
    return [(c.old_tier, c.new_tier, c.reason, c.effective_date.isoformat(), c.assets_month,
             c.override_id) for c in changes]


TIMELINES = {
    "no facts: the enrolment tier": ([], (), "standard", []),
    "months before the enrolment keep their true dates": (
        [("2025-06", GOLD), ("2025-07", OTO)], (), "oto_fortune",
        [("standard", "gold", "assets_qualified", "2025-07-01", "2025-06", None),
         ("gold", "oto_fortune", "assets_qualified", "2025-08-01", "2025-07", None)]),
    "up, three months of grace, down": (
        [("2026-01", PRIVATE), ("2026-02", GOLD), ("2026-03", GOLD), ("2026-04", STANDARD),
         ("2026-05", GOLD)], (), "gold",
        [("standard", "private_banking", "assets_qualified", "2026-02-01", "2026-01", None),
         ("private_banking", "standard", "assets_below", "2026-05-01", "2026-04", None),
         ("standard", "gold", "assets_qualified", "2026-06-01", "2026-05", None)]),
    "an override in force hides the asset changes under it": (
        [("2026-01", GOLD), ("2026-06", PRIVATE)], (o(1, "oto_fortune", "2026-05-10",
                                                    "2026-12-31"),), "oto_fortune",
        [("standard", "gold", "assets_qualified", "2026-02-01", "2026-01", None),
         ("gold", "oto_fortune", "manual_override", "2026-05-10", None, 1)]),
    "an override run out: the asset tier of that day again": (
        [("2026-01", GOLD), ("2026-06", PRIVATE)], (o(1, "oto_fortune", "2026-05-10",
                                                    "2026-08-31"),), "private_banking",
        [("standard", "gold", "assets_qualified", "2026-02-01", "2026-01", None),
         ("gold", "oto_fortune", "manual_override", "2026-05-10", None, 1),
         ("oto_fortune", "private_banking", "override_ended", "2026-09-01", None, 1)]),
    "an override to the asset tier changes nothing, nor does its end": (
        [("2026-01", GOLD)], (o(1, "gold", "2026-03-02", "2026-04-30"),), "gold",
        [("standard", "gold", "assets_qualified", "2026-02-01", "2026-01", None)]),
    "an override withdrawn the day it was set never applied": (
        [("2026-01", GOLD)], (o(1, "standard", "2026-03-02", "2026-04-30", "2026-03-02"),),
        "gold",
        [("standard", "gold", "assets_qualified", "2026-02-01", "2026-01", None)]),
    "a replaced override ends the day the new one starts": (
        [("2026-01", GOLD)], (o(1, "oto_fortune", "2026-03-02", "2026-04-30", "2026-03-20"),
                              o(2, "private_banking", "2026-03-20", "2026-12-31")),
        "private_banking",
        [("standard", "gold", "assets_qualified", "2026-02-01", "2026-01", None),
         ("gold", "oto_fortune", "manual_override", "2026-03-02", None, 1),
         ("oto_fortune", "private_banking", "manual_override", "2026-03-20", None, 2)]),
}


@pytest.mark.parametrize("snapshots, overrides, tier, changes", TIMELINES.values(),
                         ids=TIMELINES.keys())
def test_timeline_of_the_facts(programme, snapshots, overrides, tier, changes):
    line = timeline(facts(snapshots, overrides), TODAY, programme)
    assert rows(line.changes) == changes
    assert line.state.tier == tier
    assert line.state.since == (D(changes[-1][3]) if changes else facts().enrolled_on)


ORDERS = {
    "upgrade, grace, downgrade, upgrade again": [
        ("2026-01", GOLD), ("2026-02", PRIVATE), ("2026-03", OTO), ("2026-04", STANDARD),
        ("2026-05", GOLD), ("2026-06", OTO)],
    "a gap that a late month fills": [
        ("2026-01", OTO), ("2026-02", GOLD), ("2026-04", GOLD), ("2026-03", GOLD)],
}


@pytest.mark.parametrize("snapshots", ORDERS.values(), ids=ORDERS.keys())
def test_every_order_of_arrival_gives_the_same_timeline_and_the_same_announced_tiers(
        programme, snapshots):
    expected = timeline(facts(snapshots), TODAY, programme)
    for order in permutations(snapshots):
        state, announced = feed(programme, list(order), today=TODAY)
        assert state == expected.state, order
        view: dict[date, str] = {}
        for change in announced:
            view[change.effective_date] = change.new_tier
        for day in view.keys() | {c.effective_date for c in expected.changes}:
            assert view[max(d for d in view if d <= day)] == expected.tier_on(day), order


CORRECTIONS = {
    "nothing announced yet: the whole timeline": (
        {}, [("2025-12", PRIVATE), ("2026-01", GOLD)],
        [("standard", "private_banking", "assets_qualified", "2026-01-01")]),
    "in agreement: nothing": (
        {"2026-01-01": "private_banking"}, [("2025-12", PRIVATE), ("2026-01", GOLD)], []),
    "a late older month: its change with its true date, the wrong one undone on its day": (
        {"2026-02-01": "gold"}, [("2025-12", PRIVATE), ("2026-01", GOLD)],
        [("standard", "private_banking", "assets_qualified", "2026-01-01"),
         ("gold", "private_banking", "assets_qualified", "2026-02-01")]),
    "a downgrade that was announced a month late moves to its true date": (
        {"2026-02-01": "gold", "2026-07-01": "standard"},
        [("2026-01", GOLD), ("2026-02", STANDARD), ("2026-03", STANDARD),
         ("2026-04", STANDARD), ("2026-05", STANDARD)],
        [("gold", "standard", "assets_below", "2026-05-01")]),
    "a correction of the past ends on the current tier": (
        {"2026-02-01": "gold", "2026-06-01": "oto_fortune"},
        [("2026-01", GOLD), ("2026-02", STANDARD), ("2026-03", STANDARD),
         ("2026-04", STANDARD), ("2026-05", OTO)],
        [("gold", "standard", "assets_below", "2026-05-01"),
         ("oto_fortune", "oto_fortune", "assets_qualified", "2026-06-01")]),
    "a change that never happened is undone back to the enrolment tier": (
        {"2026-02-01": "gold"}, [], [("gold", "standard", "assets_below", "2026-02-01")]),
}


@pytest.mark.parametrize("announced, snapshots, expected", CORRECTIONS.values(),
                         ids=CORRECTIONS.keys())
def test_corrections_bring_the_announced_tiers_in_line(programme, announced, snapshots,
                                                       expected):
    line = timeline(facts(snapshots), TODAY, programme)
    out = announcements({D(d): t for d, t in announced.items()}, line)
    assert summary(out) == expected
    view = {D(d): t for d, t in announced.items()} | {c.effective_date: c.new_tier for c in out}
    assert announcements(view, line) == []  # once announced, computing again adds nothing


def test_an_override_withdrawn_the_day_it_was_set_is_undone_as_its_end(programme):
    withdrawn = facts([("2026-01", GOLD)], (o(
        4, "private_banking", "2026-03-02", "2026-04-30", "2026-03-02"),))
    line = timeline(withdrawn, TODAY, programme)
    out = announcements({D("2026-02-01"): "gold", D("2026-03-02"): "private_banking"}, line,
                        withdrawn.overrides)
    assert rows(out) == [
        ("private_banking", "gold", "override_ended", "2026-03-02", None, 4)]
