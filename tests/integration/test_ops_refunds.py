"""`loyalty-ops refunds` on the real broker and database: a parked refund whose purchase
came (left behind) is applied by `retry`; `expire` stops waiting and hands the refund to
operations on the dead-letter topic."""

from __future__ import annotations

import pytest

from contracts.topics import CARD_TRANSACTIONS_V1, POINTS_V1, dead_letter_topic
from runtime.relay import wait_until_drained
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, produce_to, read_topic
from tests.integration.ops_cli import ops
from tests.integration.points_events import (
    ce_type,
    consumed,
    data,
    points_service,
    purchase,
    refund,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def points(infra):
    async for service in points_service():
        yield service


async def test_refunds_list_retry_and_expire(points):
    member = customers(1)[0]
    world = {"points": points}
    await produce_to(points, [refund(member, "T-left", "40.00", refund_id="R-left"),
                              refund(member, "T-never", "10.00", refund_id="R-never")])
    await eventually(consumed(points, 2), what="refunds parked")

    # A refund left behind: parked although its purchase has come (taken off the list
    # while the purchase was applied, put back after).
    left = await points.pool.fetchrow("DELETE FROM pending_refunds WHERE refund_id = 'R-left'"
                                      " RETURNING *")
    await produce_to(points, [purchase(member, "100.00", transaction_id="T-left")])
    await eventually(consumed(points, 3), what="purchase applied")
    await points.pool.execute(
        f"INSERT INTO pending_refunds ({', '.join(left.keys())})"
        f" VALUES ({', '.join(f'${i + 1}' for i in range(len(left)))})", *left.values())

    listed = await ops("refunds", "list", services=world)
    assert listed.code == 0, listed.err
    assert "2 parked refunds" in listed.out
    [left_line] = [line for line in listed.out.splitlines() if "R-left" in line]
    assert "yes" in left_line  # its purchase is in

    assert (await ops("refunds", "retry", services=world)).code == 2  # which ones?
    retried = await ops("refunds", "retry", "--ids", "R-left,R-never", services=world)
    assert retried.code == 0, retried.err
    assert "1 refunds applied, 1 still waiting" in retried.out
    assert await points.pool.fetchval(
        "SELECT points FROM balances WHERE member_id = $1", member) == 60
    await wait_until_drained(points.pool)
    events = await read_topic(points.settings.kafka_bootstrap_servers,
                              points.topic(POINTS_V1), keep=lambda r: r.key.decode() == member,
                              until=lambda kept: len(kept) >= 2, settle=1.0)
    assert [(ce_type(r), data(r)["points"]) for r in events] == [
        ("points.earned", 100), ("points.reversed", 40)]

    expired = await ops("refunds", "expire", "--ids", "R-never", services=world)
    assert expired.code == 0, expired.err
    assert "1 parked refunds expired" in expired.out
    assert await points.pool.fetchval("SELECT count(*) FROM pending_refunds") == 0
    await wait_until_drained(points.pool)
    dlq = points.topic(dead_letter_topic(CARD_TRANSACTIONS_V1, points.name))
    [letter] = await read_topic(points.settings.kafka_bootstrap_servers, dlq,
                                until=lambda kept: len(kept) >= 1, settle=1.0)
    assert dict(letter.headers)["dlq_error"] == b"expired_by_operations"
    assert data(letter)["refund_id"] == "R-never"
    assert "0 parked refunds" in (await ops("refunds", "list", services=world)).out
