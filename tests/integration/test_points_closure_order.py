"""Card facts dated before a member's closure give the same ledger whether they arrive before
the closure or after it (the fault suite found they did not): on the real broker and
database, the same facts for three members in three orders. The rule: a late purchase earns
as it would have and is forfeited at once; a late refund reverses as it would have and the
forfeiture gives back what it took; the closed ledger ends where in-order delivery leaves it.
"""

from __future__ import annotations

import pytest

from contracts.topics import POINTS_V1
from runtime.relay import wait_until_drained
from tests.integration.fresh import customers
from tests.integration.kafka_tools import read_topic
from tests.integration.points_events import (
    ce_type,
    closed,
    data,
    deliver_in_orders,
    points_service,
    purchase,
    redemption,
    refund,
)

pytestmark = pytest.mark.integration


def _facts(member: str) -> dict[str, object]:
    """Two purchases, a spend, a refund of part of the first purchase (all dated before the
    closure) and the closure; ids end in the member's so the members do not clash. The
    spend comes before the closure in every order (after it, it would be refused)."""
    return {
        "P1": purchase(member, "1000.00", transaction_id=f"P1-{member}"),
        "P2": purchase(member, "300.00", mcc="5812", transaction_id=f"P2-{member}"),
        "D": redemption(member, 900, redemption_id=f"rdm_{member}"),
        "R1": refund(member, f"P1-{member}", "300.00", refund_id=f"R1-{member}"),
        "C": closed(member),
    }


ORDERS = {
    "in order": [["P1"], ["D"], ["P2"], ["R1"], ["C"]],
    # the late refund takes from a closed ledger: the forfeiture gives it back
    "purchase and refund late": [["P1"], ["D"], ["C"], ["P2"], ["R1"]],
    # the late refund makes a debt the late purchase pays, the rest is forfeited
    "refund before purchase, both late": [["P1"], ["D"], ["C"], ["R1"], ["P2"]],
}


async def test_facts_dated_before_a_closure_give_one_ledger_in_any_order(infra):
    async for points in points_service():
        members = dict(zip(ORDERS, customers(len(ORDERS)), strict=True))
        facts = {order: _facts(member) for order, member in members.items()}
        ledgers = await deliver_in_orders(points, facts, ORDERS, members)
        expected = ledgers["in order"]
        assert expected["balance"] == 0 and expected["lots"] == 0
        assert expected["moved"]["forfeit"] < 0  # something was left to forfeit
        for order in ORDERS:
            assert ledgers[order] == expected, order

        # The late purchases' forfeitures went out as events of their own, and so did what
        # the late refund took back out of the forfeiture (issue 13: it emitted nothing).
        await wait_until_drained(points.pool)
        late = members["purchase and refund late"]
        records = await read_topic(
            points.settings.kafka_bootstrap_servers, points.topic(POINTS_V1),
            keep=lambda r, late=late: r.key.decode() == late,
            until=lambda kept: sum(ce_type(r) in ("points.forfeited",
                                                  "points.forfeiture-returned")
                                   for r in kept) >= 3,
            settle=1.0)
        forfeited = [data(r)["points"] for r in records if ce_type(r) == "points.forfeited"]
        assert forfeited == [100, 600]  # at the closure, then at once on the late purchase
        returned = [(data(r)["points"], data(r)["reference"]) for r in records
                    if ce_type(r) == "points.forfeiture-returned"]
        assert returned == [(300, f"R1-{late}")]  # what the late refund reversed
        assert sum(forfeited) - 300 == -expected["moved"]["forfeit"]
