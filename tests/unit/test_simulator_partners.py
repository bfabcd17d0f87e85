"""The simulated partners' choice of requests: reproducible from a seed, every kind made,
out-of-scope visits only at the lounges outside the partner's."""

import random
from collections import Counter
from fnmatch import fnmatchcase

from services.rewards.settings import read_lounges, read_offer_rows
from simulator.partners import MIX, PARTNER_LOUNGES, choose

LOUNGES = [row["lounge_id"] for row in read_lounges()]
OFFERS = [row["offer_id"] for row in read_offer_rows()]
MEMBERS = [f"C{i:010d}" for i in range(50)]


def _visits(seed: int, n: int = 2000):
    rng = random.Random(seed)
    return [choose(rng, MEMBERS, LOUNGES, OFFERS) for _ in range(n)]


def test_the_same_seed_makes_the_same_traffic():
    assert _visits(3) == _visits(3) != _visits(4)


def test_every_kind_is_made_and_only_foreign_visits_leave_the_partners_lounges():
    visits = _visits(5)
    assert Counter(v.kind for v in visits).keys() == MIX.keys()
    for visit in visits:
        if visit.kind == "offer":
            assert visit.item in OFFERS
        else:
            inside = fnmatchcase(visit.item, PARTNER_LOUNGES)
            assert inside == (visit.kind != "foreign_lounge"), visit
    assert any(v.cancel for v in visits) and any(v.allow_points for v in visits)
