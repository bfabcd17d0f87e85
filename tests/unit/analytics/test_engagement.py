"""Redemption rate by benefit kind, lounge use by airport, notification reach and opt-outs
(domain/engagement.py)."""

from services.analytics.domain.engagement import (
    active_members,
    lounge_use,
    reach,
    redemptions_by_kind,
)
from services.analytics.domain.figures import LoungeUse, Reach, Redemptions
from services.analytics.domain.history import Redemption

from .population import member

MONTHS = ["2026-02", "2026-03"]
MEMBERS = [
    member("A", "2026-01", spend={"2026-02": 10}, messages_sent={"2026-02": 2},
           messages_delivered={"2026-02": 1}),
    member("B", "2026-01", redemptions={"2026-03": 2}, messages_sent={"2026-02": 1},
           opt_outs={"2026-02": 1}),
    member("C", "2026-01", spend={"2026-01": 10},   # active before the period only
           # January's message delivered in February: not February's reach
           messages_sent={"2026-01": 1}, messages_delivered={"2026-02": 1}),
    member("D", "2026-01", salons={"2026-03": 1}, closed="2026-03"),
]
REDEMPTIONS = [
    Redemption("B", "2026-03", "lounge", "PEK", persons=3, points=3000),
    Redemption("B", "2026-03", "lounge", "PVG", persons=1, points=1000),
    Redemption("A", "2026-02", "offer", None, persons=1, points=800),
    Redemption("A", "2026-01", "offer", None, persons=1, points=800),   # before the period
    Redemption("D", "2026-03", "lounge", "PEK", persons=1, points=0),
]


def test_rates_are_over_the_members_active_in_the_period():
    active = active_members(MEMBERS, MONTHS)
    assert active == 3  # A (purchase), B (redemptions), D (salon)
    assert redemptions_by_kind(REDEMPTIONS, MONTHS, active) == [
        Redemptions("lounge", 3, 4000, 2, 2 / 3),
        Redemptions("offer", 1, 800, 1, 1 / 3),
        Redemptions("donation", 0, 0, 0, 0.0),
    ]


def test_lounges_by_airport_busiest_first():
    assert lounge_use(REDEMPTIONS, MONTHS, {"PEK": "北京"}) == [
        LoungeUse("PEK", "北京", visits=2, guests=2), LoungeUse("PVG", "", visits=1, guests=0)]


def test_reach_and_opt_outs_per_month():
    rows = reach(MEMBERS, MONTHS)
    assert rows == [Reach("2026-02", messaged=2, reached=1, opted_out=1, members=4),
                    Reach("2026-03", messaged=0, reached=0, opted_out=0, members=3)]
    assert rows[0].reach_rate == 0.5 and rows[0].opt_out_rate == 0.25
