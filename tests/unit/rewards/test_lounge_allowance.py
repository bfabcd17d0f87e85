"""Lounge visits per calendar year by tier; guests use visits; beyond: points per person."""

import copy
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.tiers import TIERS
from services.rewards.domain.benefits import (
    LoungeDecision,
    lounge_period,
    lounge_visit,
    parse_benefits,
)
from services.rewards.domain.errors import Refused
from services.rewards.settings import BENEFITS_FILE

with BENEFITS_FILE.open("rb") as _file:
    SHIPPED = tomllib.load(_file)
BENEFITS = parse_benefits(copy.deepcopy(SHIPPED))


@pytest.mark.parametrize(("tier", "used", "persons", "expected"), [
    ("standard", 0, 1, LoungeDecision(0, 1, 3000)),
    ("gold", 0, 1, LoungeDecision(1, 0, 0)),
    ("gold", 0, 2, LoungeDecision(2, 0, 0)),         # a guest uses the second visit
    ("gold", 1, 2, LoungeDecision(1, 1, 3000)),      # one visit left: the guest pays
    ("gold", 2, 3, LoungeDecision(0, 3, 9000)),
    ("oto_fortune", 5, 1, LoungeDecision(1, 0, 0)),
    ("oto_fortune", 6, 1, LoungeDecision(0, 1, 3000)),
    ("private_banking", 500, 10, LoungeDecision(10, 0, 0)),  # unlimited
    # Downgraded from Gold after two visits: Standard allows none, the used stay used.
    ("standard", 2, 1, LoungeDecision(0, 1, 3000)),
    # Upgraded to OTO Fortune after two Gold visits: four left.
    ("oto_fortune", 2, 4, LoungeDecision(4, 0, 0)),
])
def test_visit_takes_from_the_allowance_then_costs_points(tier, used, persons, expected):
    assert lounge_visit(BENEFITS, tier, used, persons, allow_points=True) == expected


def test_beyond_the_allowance_needs_the_members_consent_to_pay():
    with pytest.raises(Refused) as refused:
        lounge_visit(BENEFITS, "gold", 2, 1, allow_points=False)
    assert (refused.value.code, refused.value.status) == ("allowance_used_up", 422)
    # Inside the allowance, consent is not needed.
    assert lounge_visit(BENEFITS, "gold", 1, 1, allow_points=False).points == 0


@given(tier=st.sampled_from(TIERS), used=st.integers(0, 20), persons=st.integers(1, 10))
def test_persons_are_either_covered_or_paid(tier, used, persons):
    d = lounge_visit(BENEFITS, tier, used, persons, allow_points=True)
    assert d.taken + d.paid_persons == persons
    assert d.points == d.paid_persons * 3000
    allowance = BENEFITS.visits_per_year[tier]
    if allowance is not None:
        assert used + d.taken <= max(used, allowance)


def test_the_period_is_the_calendar_year():
    from datetime import date
    assert lounge_period(date(2026, 12, 31)) == "2026"


@pytest.mark.parametrize(("change", "message"), [
    (lambda b: b["lounge"]["visits_per_year"].pop("gold"), "exactly the tiers"),
    (lambda b: b["lounge"]["visits_per_year"].update(gold=-1), "visits_per_year.gold"),
    (lambda b: b["lounge"]["visits_per_year"].update(gold="many"), "visits_per_year.gold"),
    (lambda b: b["lounge"].update(points_per_person=0), "points_per_person"),
    (lambda b: b.update(timezone="Mars/Olympus"), "timezone"),
    (lambda b: b.update(code_minutes=0), "code_minutes"),
    (lambda b: b.update(surprise=1), "unknown keys"),
])
def test_a_bad_benefits_file_stops_the_start(change, message):
    raw = copy.deepcopy(SHIPPED)
    change(raw)
    with pytest.raises(ValueError, match=message):
        parse_benefits(raw)


def test_the_shipped_file_states_the_programme():
    assert BENEFITS.visits_per_year == {"standard": 0, "gold": 2, "oto_fortune": 6,
                                        "private_banking": None}
    assert BENEFITS.points_per_person == 3000
    assert BENEFITS.code_minutes == 5
