"""Card transactions deduplicated by business key on the real broker and database (the
subscription skips the inbox): a purchase leaves no inbox row, its earning keeps the event
that earned; delivered again after it was applied, every record counts as a duplicate and
changes and publishes nothing; an event the handler failed on is dead-lettered once, however
often it comes."""

from __future__ import annotations

import pytest
from aiokafka import ConsumerRecord

from contracts.topics import CARD_TRANSACTIONS_V1, POINTS_V1, dead_letter_topic
from runtime.relay import wait_until_drained
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, produce_to, read_topic
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


def _ce_id(record) -> str:
    return dict(record.headers)["ce_id"].decode()


async def _ledger(points) -> dict:
    pool = points.pool
    return {
        "balances": sorted(tuple(r) for r in await pool.fetch(
            "SELECT member_id, points FROM balances")),
        "lots": sorted(tuple(r) for r in await pool.fetch(
            "SELECT member_id, expires_on, remaining FROM lots")),
        "transfers": await pool.fetchval("SELECT count(*) FROM transfers"),
        "earnings": await pool.fetchval("SELECT count(*) FROM earnings"),
        "refunds": await pool.fetchval("SELECT count(*) FROM refunds"),
        "parked": await pool.fetchval("SELECT count(*) FROM pending_refunds"),
    }


async def test_redelivered_card_transactions_change_and_publish_nothing(points):
    a, b = customers(2)
    bought = purchase(a, "100.00", transaction_id="T-a")
    records = [bought, purchase(b, "50.00", transaction_id="T-b"),
               refund(a, "T-a", "40.00", refund_id="R-a"),
               refund(b, "T-never", "10.00", refund_id="R-parked")]
    await produce_to(points, records)
    await eventually(consumed(points, 4), what="first delivery applied")
    before = await _ledger(points)
    assert before["balances"] == sorted([(a, 60), (b, 50)])
    assert before["parked"] == 1
    # Purchases: no inbox row, the earning names its event. Refunds: claimed in the inbox.
    assert {r[0] for r in await points.pool.fetch(
        "SELECT event_id FROM inbox WHERE topic = $1", CARD_TRANSACTIONS_V1)} == {
        _ce_id(records[2]), _ce_id(records[3])}
    assert await points.pool.fetchval(
        "SELECT event_id FROM earnings WHERE transaction_id = 'T-a'") == _ce_id(bought)

    await produce_to(points, records)  # all four again, as after a lost offset commit
    await eventually(consumed(points, 8), what="redelivery consumed")
    assert sum(r.duplicates for r in points.reports) == 4
    assert sum(r.applied for r in points.reports) == 4
    assert await _ledger(points) == before

    await wait_until_drained(points.pool)
    published = await read_topic(points.settings.kafka_bootstrap_servers,
                                 points.topic(POINTS_V1),
                                 keep=lambda r: r.key.decode() in (a, b),
                                 until=lambda kept: len(kept) >= 3, settle=2.0)
    assert sorted((ce_type(r), data(r)["member_id"]) for r in published) == sorted([
        ("points.earned", a), ("points.earned", b), ("points.reversed", a)])


def _consumed(points, records, first_offset: int) -> list[ConsumerRecord]:
    return [ConsumerRecord(points.topic(CARD_TRANSACTIONS_V1), 0, first_offset + n, 0, 0,
                           r.key, r.value, None, 0, 0, r.headers)
            for n, r in enumerate(records)]


async def test_an_event_the_handler_fails_on_is_dead_lettered_once(points):
    a, b = customers(2)
    bad, good = purchase(a, "10.00", transaction_id="T-bug"), purchase(b, "20.00")
    processor = points.card_transactions
    handler = processor._handler

    async def buggy(uow, batch):
        if any(i.event.transaction_id == "T-bug" for i in batch):
            raise RuntimeError("a bug for this purchase")
        return await handler(uow, batch)

    processor._handler = buggy
    first = await processor.process(_consumed(points, [bad, good], 1000))
    assert (first.applied, first.dead_lettered, first.duplicates) == (1, 1, 0)
    again = await processor.process(_consumed(points, [bad, good], 1000))  # redelivered
    assert (again.applied, again.dead_lettered, again.duplicates) == (0, 0, 2)

    await wait_until_drained(points.pool)
    letters = await read_topic(
        points.settings.kafka_bootstrap_servers,
        points.topic(dead_letter_topic(CARD_TRANSACTIONS_V1, points.name)),
        until=lambda kept: len(kept) >= 1, settle=2.0)
    assert [(dict(r.headers)["ce_id"], dict(r.headers)["dlq_error"]) for r in letters] == [
        (dict(bad.headers)["ce_id"], b"handler_error")]
    assert await points.pool.fetchval("SELECT points FROM balances WHERE member_id = $1",
                                      b) == 20
