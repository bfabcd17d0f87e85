"""Tier mix and migration matrix, stage counts and transitions (domain/groups.py)."""

from datetime import date

from services.analytics.domain.figures import Count, Move
from services.analytics.domain.groups import counts, moves
from services.analytics.domain.history import Member

from .population import member

MEMBERS = [
    member("A", "2026-01"),
    member("B", "2026-01", tier="gold", changes=((date(2026, 2, 1), "oto_fortune"),)),
    member("C", "2026-01", tier="gold", closed="2026-02"),   # gone at the end of Feb
    member("D", "2026-02", changes=((date(2026, 2, 20), "gold"),)),  # new in Feb: no move
]
TIERS = ["standard", "gold", "oto_fortune"]


def test_tier_mix_counts_members_open_at_the_month_end():
    assert counts(MEMBERS, ["2026-01", "2026-02"], TIERS, Member.tier) == [
        Count("2026-01", "standard", 1), Count("2026-01", "gold", 2),
        Count("2026-01", "oto_fortune", 0),
        Count("2026-02", "standard", 1), Count("2026-02", "gold", 1),
        Count("2026-02", "oto_fortune", 1),
    ]


def test_moves_are_between_two_month_ends_of_members_open_at_both():
    assert moves(MEMBERS, ["2026-02"], Member.tier) == [
        Move("2026-02", "gold", "oto_fortune", 1)]
    assert moves(MEMBERS, ["2026-03"], Member.tier) == []
