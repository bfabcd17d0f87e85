"""Refunds on the real broker and database that come too late or after the member left:
a refund dead-lettered for operations is still applied, once, when its purchase comes
(also if operations replay the dead letter); points coming back to a closed member are
forfeited at once and the closed ledger stays at zero."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from contracts.envelope import EncodedEvent
from contracts.topics import CARD_TRANSACTIONS_V1, POINTS_V1, dead_letter_topic
from runtime.relay import wait_until_drained
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, produce_to, read_topic
from tests.integration.points_events import (
    SHANGHAI,
    cancellation,
    ce_type,
    closed,
    consumed,
    data,
    points_service,
    purchase,
    redemption,
    refund,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def impatient_points(infra):
    """The service running its own expiry job every 0.3 s with a one-second refund wait."""
    async for service in points_service(refund_wait_seconds=1, expiry_check_seconds=0.3):
        yield service


async def _read(service, topic: str, n: int, keep=lambda r: True, settle: float = 1.5):
    await wait_until_drained(service.pool)
    return await read_topic(service.settings.kafka_bootstrap_servers, topic, keep=keep,
                            until=lambda kept: len(kept) >= n, settle=settle)


async def _balance(service, member: str) -> int:
    return await service.pool.fetchval("SELECT points FROM balances WHERE member_id = $1",
                                       member)


def _replayed(letter, new_id: bool) -> EncodedEvent:
    """A dead letter as operations put it back on the topic: as it is, or re-sent under a
    new event id (as if the inbox had forgotten the first)."""
    headers = [(k, v) for k, v in letter.headers if not (new_id and k == "ce_id")]
    if new_id:
        headers.append(("ce_id", str(uuid.uuid4()).encode()))
    return EncodedEvent(topic=CARD_TRANSACTIONS_V1, key=letter.key, value=letter.value,
                        headers=headers)


async def test_a_refund_dead_lettered_for_its_late_purchase_is_still_applied_once(
        impatient_points):
    points = impatient_points
    member = customers(1)[0]
    await produce_to(points, [refund(member, "T-slow", "40.00", refund_id="R-slow")])
    await eventually(consumed(points, 1), what="early refund parked")

    # The wait passes: the job hands the refund to operations, once, and keeps it parked.
    dlq = points.topic(dead_letter_topic(CARD_TRANSACTIONS_V1, points.name))
    [letter] = await _read(points, dlq, 1, settle=2.0)  # the job ran several times meanwhile
    assert dict(letter.headers)["dlq_error"] == b"purchase_not_found"
    assert await points.pool.fetchval(
        "SELECT dead_lettered_at IS NOT NULL FROM pending_refunds WHERE refund_id = 'R-slow'")

    # The purchase comes late: 100 points earned, 40 of them reversed.
    await produce_to(points, [purchase(member, "100.00", transaction_id="T-slow")])
    await eventually(consumed(points, 2), what="late purchase applied")
    assert await _balance(points, member) == 60
    assert await points.pool.fetchval("SELECT count(*) FROM pending_refunds") == 0

    # Operations replay the dead letter, as it is and under a new event id: nothing changes.
    await produce_to(points, [_replayed(letter, new_id=False), _replayed(letter, new_id=True)])
    await eventually(consumed(points, 4), what="replays consumed")
    assert await _balance(points, member) == 60
    assert await points.pool.fetchval(
        "SELECT count(*) FROM transfers WHERE kind = 'reverse' AND reference = 'R-slow'") == 1
    assert await points.pool.fetchval("SELECT count(*) FROM pending_refunds") == 0
    events = await _read(points, points.topic(POINTS_V1), 2,
                         keep=lambda r: r.key.decode() == member)
    assert [(ce_type(r), data(r)["points"]) for r in events] == [
        ("points.earned", 100), ("points.reversed", 40)]
    assert len(await _read(points, dlq, 1, settle=1.0)) == 1  # dead-lettered once


@pytest.fixture
async def points(infra):
    async for service in points_service():
        yield service


async def test_points_coming_back_after_the_member_closed_are_forfeited_at_once(points):
    redeemer, shopper = customers(2)
    await produce_to(points, [purchase(redeemer, "1000.00"),
                              purchase(shopper, "500.00", transaction_id="T-returned")])
    await eventually(consumed(points, 2), what="earned")
    await produce_to(points, [redemption(redeemer, 400, redemption_id="rdm_after_close")])
    await eventually(consumed(points, 3), what="debited")
    await produce_to(points, [closed(redeemer), closed(shopper)])
    await eventually(consumed(points, 5), what="closed")

    # After closing: the redemption is cancelled, the purchase refunded (dated after the
    # closure too; test_points_closure_order has a refund dated before it).
    await produce_to(points, [cancellation(redeemer, "rdm_after_close", 400),
                              refund(shopper, "T-returned", "500.00", refund_id="R-returned",
                                     at=datetime.now(SHANGHAI))])
    await eventually(consumed(points, 7), what="cancellation and refund handled")

    for member in (redeemer, shopper):
        assert await _balance(points, member) == 0
        assert await points.pool.fetchval(
            "SELECT coalesce(sum(remaining), 0) FROM lots WHERE member_id = $1", member) == 0
    events = await _read(points, points.topic(POINTS_V1), 7,
                         keep=lambda r: r.key.decode() in (redeemer, shopper))
    by_member = {m: [(ce_type(r), data(r)["points"], data(r).get("reason"))
                     for r in events if r.key.decode() == m] for m in (redeemer, shopper)}
    assert by_member[redeemer] == [
        ("points.earned", 1000, None), ("points.debited", 400, None),
        ("points.forfeited", 600, "member_closed"), ("points.refunded", 400, None),
        ("points.forfeited", 400, "member_closed")]
    # The refund's share of points went with the rest when the member closed: none is taken
    # back from the closed ledger (no debt), and the refund is recorded.
    assert by_member[shopper] == [("points.earned", 500, None),
                                  ("points.forfeited", 500, "member_closed")]
    assert await points.pool.fetchval(
        "SELECT points_reversed FROM refunds WHERE refund_id = 'R-returned'") == 0
