"""Tier review cadences, table-driven: the yearly cadence's assessment (up and down, from
the year's day-weighted average daily assets, a downgrade only on a complete year) and
half-yearly adjustment (up only), only for reviews that have run, with the months before
the first review decided monthly; the review dates and when the job runs them; the
preview of the next review under both cadences (domain/preview.py); and the examples
docs/tiers.md gives."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.accounts.domain.preview import pending_move
from services.accounts.domain.programme import parse_programme
from services.accounts.domain.reviews import Review, assess, due, next_review, window_average
from services.accounts.domain.tiers import Override, TierFacts, timeline
from tests.unit.accounts.months import GOLD, OTO, PRIVATE, STANDARD, facts, summary

JAN, JUL = date(2026, 1, 1), date(2026, 7, 1)
NEXT_JAN, JUL_27, JAN_28 = date(2027, 1, 1), date(2027, 7, 1), date(2028, 1, 1)


def year(y: int, amount: Decimal, skip: tuple[int, ...] = ()) -> list[tuple[str, Decimal]]:
    return [(f"{y}-{m:02d}", amount) for m in range(1, 13) if m not in skip]


def reviewed(snapshots: list[tuple[str, Decimal]], run: set[date] = frozenset(),
             overrides: tuple[Override, ...] = ()) -> TierFacts:
    """A member's facts with the reviews `run` run."""
    return replace(facts(snapshots, overrides), reviews=frozenset(run))


@pytest.fixture
def yearly(programme_data):
    programme_data["review"] = {"cadence": "yearly", "first_review": JAN}
    return parse_programme(programme_data)


H1_STANDARD_H2_OTO = ([(f"2026-{m:02d}", STANDARD) for m in range(1, 7)]
                      + [(f"2026-{m:02d}", OTO) for m in range(7, 13)])

YEARLY = {
    "the assessment moves to the tier of the year's average, on 1 January": (
        H1_STANDARD_H2_OTO, {JAN, JUL, NEXT_JAN}, "gold",  # 403,783.56: gold, not OTO
        [("standard", "gold", "assets_qualified", "2027-01-01")]),
    "a review that has not run changes nothing": (
        H1_STANDARD_H2_OTO, {JAN, JUL}, "standard", []),
    "the average is weighted by the days of each month": (
        # A plain mean of the six months is 50,000.00 (gold); by days, 49,281.76.
        [("2026-01", Decimal("40000")), ("2026-02", Decimal("100000")),
         *[(f"2026-{m:02d}", Decimal("40000")) for m in range(3, 7)]],
        {JAN, JUL}, "standard", []),
    "the adjustment upgrades from January-June, on 1 July": (
        [(f"2026-{m:02d}", OTO) for m in range(1, 7)], {JAN, JUL}, "oto_fortune",
        [("standard", "oto_fortune", "assets_qualified", "2026-07-01")]),
    "the adjustment never downgrades": (
        year(2026, PRIVATE) + [(f"2027-{m:02d}", STANDARD) for m in range(1, 7)],
        {JAN, JUL, NEXT_JAN, JUL_27}, "private_banking",
        [("standard", "private_banking", "assets_qualified", "2026-07-01")]),
    "the assessment downgrades several levels at once on a complete year": (
        year(2026, PRIVATE) + year(2027, STANDARD), {JAN, JUL, NEXT_JAN, JUL_27, JAN_28},
        "standard",
        [("standard", "private_banking", "assets_qualified", "2026-07-01"),
         ("private_banking", "standard", "assets_below", "2028-01-01")]),
    "a missing month holds a downgrade": (
        year(2026, PRIVATE) + year(2027, STANDARD, skip=(8,)),
        {JAN, JUL, NEXT_JAN, JUL_27, JAN_28}, "private_banking",
        [("standard", "private_banking", "assets_qualified", "2026-07-01")]),
    "an upgrade counts the months present": (
        [("2026-11", PRIVATE), ("2026-12", PRIVATE)], {JAN, JUL, NEXT_JAN}, "private_banking",
        [("standard", "private_banking", "assets_qualified", "2027-01-01")]),
    "no month in the window: no change": (
        [("2024-06", STANDARD)], {JAN, JUL}, "standard", []),
    "before the first review the months decide monthly": (
        [("2025-05", GOLD)], set(), "gold",
        [("standard", "gold", "assets_qualified", "2025-06-01")]),
    "a month taking effect on the first review waits for it": (
        [("2025-05", GOLD), ("2025-12", PRIVATE)], set(), "gold",
        [("standard", "gold", "assets_qualified", "2025-06-01")]),
    "... which assesses the year before, months decided monthly included": (
        [("2025-05", GOLD), ("2025-12", PRIVATE)], {JAN}, "oto_fortune",  # 3,540,000
        [("standard", "gold", "assets_qualified", "2025-06-01"),
         ("gold", "oto_fortune", "assets_qualified", "2026-01-01")]),
    "a monthly downgrade before the first review keeps its grace": (
        [("2025-06", OTO), ("2025-07", GOLD), ("2025-08", GOLD), ("2025-09", GOLD)],
        set(), "gold",
        [("standard", "oto_fortune", "assets_qualified", "2025-07-01"),
         ("oto_fortune", "gold", "assets_below", "2025-10-01")]),
    "a review date the cadence does not have is ignored": (
        [(f"2026-{m:02d}", OTO) for m in range(1, 7)], {date(2026, 3, 1)}, "standard", []),
}


@pytest.mark.parametrize("snapshots, run, tier, changes", YEARLY.values(), ids=YEARLY)
def test_yearly_cadence(yearly, snapshots, run, tier, changes):
    line = timeline(reviewed(snapshots, run), date(2028, 2, 1), yearly)
    assert (line.state.asset_tier, summary(list(line.changes))) == (tier, changes)


def test_a_review_change_names_the_last_month_of_its_window(yearly):
    h1 = [(f"2026-{m:02d}", OTO) for m in range(1, 7)]
    line = timeline(reviewed(h1, {JAN, JUL}), date(2026, 8, 1), yearly)
    assert [c.assets_month for c in line.changes] == ["2026-06"]


def test_the_shipped_programme_reviews_monthly(programme):
    assert (programme.review.cadence, programme.review.first_review) == ("monthly", None)


def test_the_monthly_cadence_ignores_reviews(programme):
    snapshots = [("2026-01", GOLD)]
    assert timeline(reviewed(snapshots, {JUL}), date(2026, 8, 1), programme) == timeline(
        facts(snapshots), date(2026, 8, 1), programme)


@pytest.mark.parametrize("today, dates", [
    (date(2026, 1, 10), []),                   # ten days after 1 January: not yet
    (date(2026, 1, 11), [JAN]),
    (date(2026, 7, 11), [JAN, JUL]),
    (date(2027, 1, 11), [JAN, JUL, NEXT_JAN]),
])
def test_a_review_is_due_run_after_days_after_its_date(yearly, today, dates):
    assert [r.on for r in due(yearly.review, today)] == dates


def test_review_windows_and_the_next_review(yearly, programme):
    assert (Review(JAN).kind, Review(JAN).window[0], Review(JAN).window[-1]) == (
        "assessment", "2025-01", "2025-12")
    assert (Review(JUL).kind, Review(JUL).window) == (
        "adjustment", ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"))
    assert next_review(yearly.review, set()) == Review(JAN)
    assert next_review(yearly.review, {JAN}) == Review(JUL)
    assert due(programme.review, date(2030, 1, 1)) == []  # monthly: no review job


@pytest.mark.parametrize("assets, average", [
    ({"2026-01": Decimal("31")}, Decimal("31.00")),
    ({"2026-01": Decimal("100"), "2026-02": Decimal("0")}, Decimal("52.54")),  # 3100/59
    ({"2025-01": Decimal("0.03"), "2025-02": Decimal("0")}, Decimal("0.01")),  # rounds down
])
def test_window_average_is_day_weighted_and_rounded_down(assets, average):
    assert window_average(assets) == average


@pytest.mark.parametrize("review, message", [
    ({"cadence": "yearly"}, "first_review"),
    ({"cadence": "yearly", "first_review": date(2026, 3, 1)}, "1 January or 1 July"),
    ({"cadence": "monthly", "first_review": JAN}, "yearly cadence only"),
    ({"cadence": "quarterly"}, "cadence"),
    ({"cadence": "yearly", "first_review": JAN, "run_after_days": 90}, "run_after_days"),
])
def test_a_bad_review_rule_is_refused(programme_data, review, message):
    programme_data["review"] = review
    with pytest.raises(ValidationError, match=message):
        parse_programme(programme_data)


PREVIEW_MONTHLY = {
    "nothing without a snapshot": ([], None),
    "two months below: the third, if like the newest, moves them down": (
        [("2026-01", OTO), ("2026-02", GOLD), ("2026-03", GOLD)],
        ("oto_fortune", "gold", "assets_below", "2026-05-01", GOLD,
         ("2026-02", "2026-03", "2026-04"), "2026-04")),
    "one month below: still in grace next month": (
        [("2026-01", OTO), ("2026-02", GOLD)], None),
    "qualifying: nothing pending (upgrades are at once)": ([("2026-01", PRIVATE)], None),
}


@pytest.mark.parametrize("snapshots, expected", PREVIEW_MONTHLY.values(), ids=PREVIEW_MONTHLY)
def test_preview_monthly(programme, snapshots, expected):
    move = pending_move(facts(snapshots), programme)
    assert expected == (move and (move.old_tier, move.new_tier, move.reason,
                                  move.effective_date.isoformat(), move.assets, move.months,
                                  move.assumed_month))


PREVIEW_YEARLY = {
    "the first review, from the year so far": (
        [("2025-12", PRIVATE)], set(),
        ("standard", "private_banking", "assets_qualified", "2026-01-01", PRIVATE, 1, False)),
    "the adjustment after the assessment has run": (
        year(2025, GOLD) + [("2026-01", OTO), ("2026-02", OTO)], {JAN},
        ("gold", "oto_fortune", "assets_qualified", "2026-07-01", OTO, 2, False)),
    "a downgrade shows only on a complete year": (
        year(2025, PRIVATE) + year(2026, GOLD, skip=(12,)), {JAN, JUL}, None),
    "... and then it does": (
        year(2025, PRIVATE) + year(2026, GOLD), {JAN, JUL},
        ("private_banking", "gold", "assets_below", "2027-01-01", GOLD, 12, True)),
    "the adjustment moves nobody down": (
        year(2025, PRIVATE) + [("2026-01", STANDARD)], {JAN}, None),
}


@pytest.mark.parametrize("snapshots, run, expected", PREVIEW_YEARLY.values(), ids=PREVIEW_YEARLY)
def test_preview_yearly(yearly, snapshots, run, expected):
    move = pending_move(reviewed(snapshots, run), yearly)
    assert expected == (move and (move.old_tier, move.new_tier, move.reason,
                                  move.effective_date.isoformat(), move.assets,
                                  len(move.months), move.complete))


def test_the_preview_is_what_the_review_then_does(yearly):
    snapshots = year(2025, PRIVATE) + year(2026, GOLD)
    move = pending_move(reviewed(snapshots, {JAN, JUL}), yearly)
    after = timeline(reviewed(snapshots, {JAN, JUL, NEXT_JAN}), NEXT_JAN, yearly)
    assert move is not None
    assert (after.changes[-1].old_tier, after.changes[-1].new_tier,
            after.changes[-1].effective_date) == (move.old_tier, move.new_tier,
                                                  move.effective_date)


def test_an_override_does_not_hide_the_asset_move(yearly):
    override = Override(1, "private_banking", date(2026, 12, 31), date(2026, 1, 5))
    move = pending_move(reviewed([("2025-12", GOLD)], overrides=(override,)), yearly)
    assert move is not None and (move.old_tier, move.new_tier) == ("standard", "gold")


def months(y: int, first: int, last: int, amount: str) -> dict[str, Decimal]:
    return {f"{y}-{m:02d}": Decimal(amount) for m in range(first, last + 1)}


DOCUMENTED = {  # the examples of docs/tiers.md
    "the year's average, not its best months": (
        date(2027, 1, 1), "standard",
        {**months(2026, 1, 6, "1000"), **months(2026, 7, 12, "800000")}, "gold", "403783.56"),
    "the adjustment upgrades": (
        date(2027, 7, 1), "gold", months(2027, 1, 6, "650000"), "oto_fortune", "650000.00"),
    "the adjustment only upgrades": (
        date(2027, 7, 1), "oto_fortune", months(2027, 1, 6, "20000"), "oto_fortune",
        "20000.00"),
    "the assessment downgrades on all twelve months": (
        date(2028, 1, 1), "oto_fortune", months(2027, 1, 12, "420000"), "gold", "420000.00"),
    "... not on eleven": (
        date(2028, 1, 1), "oto_fortune",
        {m: a for m, a in months(2027, 1, 12, "420000").items() if m != "2027-08"},
        "oto_fortune", "420000.00"),
    "weighted by days": (
        date(2027, 7, 1), "standard",
        {**months(2027, 1, 6, "40000"), "2027-02": Decimal("100000")}, "standard",
        "49281.76"),
    "an upgrade counts the months present": (
        date(2028, 7, 1), "gold", months(2028, 5, 6, "700000"), "oto_fortune", "700000.00"),
}


@pytest.mark.parametrize("on, before, assets, after, average", DOCUMENTED.values(),
                         ids=DOCUMENTED)
def test_the_documented_examples(programme, on, before, assets, after, average):
    assessed = assess(Review(on), assets, before, programme)
    assert (assessed.tier, assessed.average) == (after, Decimal(average))
