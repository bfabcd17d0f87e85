"""A closed member's ledger is the same whatever order the facts around the closure arrive
in (issue 13), on the real broker and database, each case for several members at once in
several delivery orders:

- a tier change for days before the closure that reaches points after it re-rates the
  purchases of those days, and what that credits is forfeited at once;
- purchases and refunds dated after the closure count nothing, also when they arrive before
  it: the closure re-rates them to nothing, then forfeits what is left.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from contracts.topics import POINTS_V1
from runtime.relay import wait_until_drained
from tests.integration.fresh import customers
from tests.integration.kafka_tools import read_topic
from tests.integration.points_events import (
    TUESDAY,
    ce_type,
    closed,
    data,
    deliver_in_orders,
    points_service,
    purchase,
    refund,
    tier_changed,
)

pytestmark = pytest.mark.integration

CLOSED_AT = TUESDAY + timedelta(days=10)  # 2026-03-20


async def _events(points, member: str, enough) -> list[tuple[str, dict]]:
    await wait_until_drained(points.pool)
    records = await read_topic(
        points.settings.kafka_bootstrap_servers, points.topic(POINTS_V1),
        keep=lambda r: r.key.decode() == member,
        until=lambda kept: enough([ce_type(r) for r in kept]), settle=1.0)
    return [(ce_type(r), data(r)) for r in records]


def _before_closure(member: str) -> dict[str, object]:
    """A hotel stay and groceries, part of the stay refunded, all before the closure; gold
    from March 1st (a decision accounts made late); the closure."""
    return {
        "P1": purchase(member, "1000.00", mcc="7011", transaction_id=f"P1-{member}"),
        "P2": purchase(member, "500.00", transaction_id=f"P2-{member}",
                       at=TUESDAY + timedelta(days=2)),
        "R1": refund(member, f"P1-{member}", "250.00", refund_id=f"R1-{member}",
                     at=TUESDAY + timedelta(days=4)),
        "T": tier_changed(member, "gold", date(2026, 3, 1)),
        "C": closed(member, CLOSED_AT),
    }


RERATING_ORDERS = {
    "in order": [["P1", "P2"], ["R1"], ["T"], ["C"]],
    # the tier change reaches points after the closure: re-rated, forfeited at once
    "tier change after the closure": [["P1", "P2"], ["R1"], ["C"], ["T"]],
    # everything after the closure: late purchases earn at gold and are forfeited
    "closure first": [["C"], ["T"], ["P1", "P2"], ["R1"]],
    # the tier change after the closure and the late purchases, the refund parked first
    "refund, closure, tier change, purchases": [["R1"], ["C"], ["T"], ["P1", "P2"]],
}


async def test_a_tier_change_after_the_closure_rerates_the_closed_ledger(infra):
    async for points in points_service():
        members = dict(zip(RERATING_ORDERS, customers(len(RERATING_ORDERS)), strict=True))
        facts = {order: _before_closure(member) for order, member in members.items()}
        ledgers = await deliver_in_orders(points, facts, RERATING_ORDERS, members)

        expected = ledgers["in order"]
        # Gold: the stay earns 1000 x 3.6 = 3600, groceries 500 x 1.2 = 600; a quarter of
        # the stay refunded takes 900; the rest, 3300, forfeited at the closure.
        assert (expected["balance"], expected["lots"]) == (0, 0)
        assert expected["moved"] == {"purchase P1": 2700, "purchase P2": 600, "forfeit": -3300}
        assert [(t, p, tier) for t, p, tier, _ in expected["ratings"]] == [
            ("P1", 3600, "gold"), ("P2", 600, "gold")]
        for order in RERATING_ORDERS:
            assert ledgers[order] == expected, order

        # The re-ratings of the closed ledger went out, with their forfeitures.
        late = members["tier change after the closure"]
        events = await _events(points, late, lambda types: types.count("points.forfeited") >= 3)
        assert sorted((d["transaction_id"], d["points_moved"]) for t, d in events
                      if t == "points.rerated") == [(f"P1-{late}", 450), (f"P2-{late}", 100)]
        assert [d["points"] for t, d in events if t == "points.forfeited"] == [2750, 450, 100]
        assert not [t for t, _ in events if t == "points.forfeiture-returned"]


def _after_closure(member: str) -> dict[str, object]:
    """Groceries before the closure; after it, a dinner, part of the groceries refunded and
    part of the dinner refunded."""
    return {
        "P1": purchase(member, "1000.00", transaction_id=f"P1-{member}"),
        "C": closed(member, CLOSED_AT),
        "P3": purchase(member, "300.00", mcc="5812", transaction_id=f"P3-{member}",
                       at=CLOSED_AT + timedelta(days=5)),
        "R2": refund(member, f"P1-{member}", "400.00", refund_id=f"R2-{member}",
                     at=CLOSED_AT + timedelta(days=6)),
        "R3": refund(member, f"P3-{member}", "100.00", refund_id=f"R3-{member}",
                     at=CLOSED_AT + timedelta(days=7)),
    }


AFTER_CLOSURE_ORDERS = {
    "in order": [["P1"], ["C"], ["P3"], ["R2", "R3"]],
    # everything dated after the closure arrives before it
    "the closure last": [["P1"], ["P3"], ["R2", "R3"], ["C"]],
    # the dinner before the closure, the refunds after it
    "the dinner before the closure": [["P1"], ["P3"], ["C"], ["R2", "R3"]],
    # the dinner's refund before the closure, the groceries' after it
    "one refund each side": [["P1", "P3"], ["R3"], ["C"], ["R2"]],
}


async def test_facts_dated_after_a_closure_count_nothing_whenever_they_arrive(infra):
    async for points in points_service():
        members = dict(zip(AFTER_CLOSURE_ORDERS, customers(len(AFTER_CLOSURE_ORDERS)),
                           strict=True))
        facts = {order: _after_closure(member) for order, member in members.items()}
        ledgers = await deliver_in_orders(points, facts, AFTER_CLOSURE_ORDERS, members)

        expected = ledgers["in order"]
        assert (expected["balance"], expected["lots"]) == (0, 0)
        assert expected["moved"] == {"purchase P1": 1000, "forfeit": -1000}
        assert [(t, p, rules) for t, p, _, rules in expected["ratings"]] == [
            ("P1", 1000, ("base-1-per-cny", "tier-standard-x1.0")),
            ("P3", 0, ("member-closed",))]
        assert expected["monthly bonus"] == []
        for order in AFTER_CLOSURE_ORDERS:
            assert ledgers[order] == expected, order

        # The closure re-rated what had come before it, with events: the dinner to nothing
        # (600 earned, 200 of it refunded), the groceries' refund undone.
        last = members["the closure last"]
        events = await _events(points, last, lambda types: "points.forfeited" in types)
        assert sorted((d["transaction_id"], d["points_moved"], d["points"]) for t, d in events
                      if t == "points.rerated") == [(f"P1-{last}", 400, 1000),
                                                     (f"P3-{last}", -400, 0)]
        assert [d["points"] for t, d in events if t == "points.forfeited"] == [1000]
