"""The programme's year (tools/year/programme.py): each trajectory moves assets and spend as
its kind says, and who is a customer in which month."""

from __future__ import annotations

import random
from datetime import date

import pytest

from tools.year.cast import months
from tools.year.programme import FIRST, KINDS, LAST, alive, population, trajectory


@pytest.mark.parametrize(("kind", "end"), [
    ("steady", (1.0, 1.0)), ("grows", (2.5, 2.5)), ("declines", (0.3, 0.3)),
    ("lapses", (1.0, 0.0)), ("closes", (1.0, 1.0)), ("joins", (1.0, 1.0))])
def test_a_trajectory_is_flat_before_its_turn_and_reaches_its_end(kind, end):
    assert trajectory(kind, 3, turn=8, end=17) == (1.0, 1.0)
    assert trajectory(kind, 17, turn=8, end=17) == pytest.approx(end)


def test_the_population_turns_in_2026_and_joiners_onboard_in_their_month():
    members = population(random.Random(18), 200)
    span = months(FIRST, LAST)
    assert {m.kind for m in members} == set(KINDS)
    for m in members:
        assert date(2026, 2, 1) <= m.turn <= date(2026, 11, 1)
        assert len(m.spend) == len(span) and len(m.sample.path) == len(span) + 1
        if m.kind == "joins":
            assert m.sample.customer.onboarded_at.date().replace(day=1) == m.turn
            assert not alive(m, date(2026, 1, 1)) and alive(m, m.turn)
        if m.kind == "closes":
            assert alive(m, m.turn) and not alive(m, date(2026, 12, 1))
        if m.kind == "lapses":
            assert m.spend[-1] == 0.0 and m.sample.path[-1] == 1.0
