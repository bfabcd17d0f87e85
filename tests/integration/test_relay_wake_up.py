"""No polling delay on the hot path: a unit of work that commits outbox rows wakes its own
process's relay, which publishes them at once; the poll is only the fallback."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest

from contracts.points.v1 import PointsDebited
from contracts.topics import CARD_TRANSACTIONS_V1, POINTS_V1, dead_letter_topic
from runtime.settings import Settings
from runtime.unit_of_work import StoredRecord, one_statement
from tests.integration.fresh import fresh_service
from tests.integration.kafka_tools import read_topic
from tests.integration.tally.service import build

pytestmark = pytest.mark.integration
#: Far longer than the test may wait: a record that waited for the poll fails it.
POLL_SECONDS = 60.0


#: Long enough to tell a lingering relay from one that publishes at once on a busy machine.
LINGER_SECONDS = 1.0


def _slow_polling(name: str, prefix: str, **settings: float):
    return build(name, prefix, Settings(batch_max_records=100, batch_timeout_ms=50,
                                        relay_poll_seconds=POLL_SECONDS, **settings))


def _lingering(name: str, prefix: str):
    return _slow_polling(name, prefix, relay_linger_seconds=LINGER_SECONDS)


def _letter(marker: str) -> StoredRecord:
    return StoredRecord(topic=CARD_TRANSACTIONS_V1, partition=None, offset=None,
                        key=marker.encode(), value=marker.encode(), headers=[])


async def test_committed_rows_reach_kafka_at_once_not_at_the_next_poll(infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    async with fresh_service(_slow_polling, "tally") as tally:
        while not tally.relay.active:  # active, and past its first look at the outbox
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        markers = [f"uow-{uuid.uuid4().hex}", f"statement-{uuid.uuid4().hex}"]
        committed = {}

        async with tally.unit_of_work() as uow:  # a transaction (consumers, jobs)
            uow.dead_letter(_letter(markers[0]), "test", "test", topic=CARD_TRANSACTIONS_V1)
        committed[markers[0]] = time.time()
        async with tally.pool.acquire() as conn:  # one autocommitted statement (requests)
            async with one_statement(conn, service=tally.name) as uow:
                uow.dead_letter(_letter(markers[1]), "test", "test",
                                topic=CARD_TRANSACTIONS_V1)
                await uow.execute("SELECT 1")
        committed[markers[1]] = time.time()

        topic = tally.topic(dead_letter_topic(CARD_TRANSACTIONS_V1, tally.name))
        records = await read_topic(bootstrap, topic, until=lambda kept: len(kept) >= 2,
                                   keep=lambda r: r.key.decode() in committed, timeout=20)
        # The producer's timestamp: when the relay sent it.
        waited = {r.key.decode(): r.timestamp / 1000 - committed[r.key.decode()]
                  for r in records}
        assert sorted(waited) == sorted(markers)
        assert all(seconds < 3.0 for seconds in waited.values()), waited


async def test_a_woken_relay_lingers_for_more_commits_unless_a_request_waits(infra):
    """A plain commit's record waits out the linger (more commits may join its batch); an
    event a request waits for (`Event.awaited`: a saga's hop) goes at once."""
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    async with fresh_service(_lingering, "tally") as tally:
        while not tally.relay.active:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        plain = f"plain-{uuid.uuid4().hex}"
        async with tally.unit_of_work() as uow:
            uow.dead_letter(_letter(plain), "test", "test", topic=CARD_TRANSACTIONS_V1)
        plain_committed = time.time()
        letters = tally.topic(dead_letter_topic(CARD_TRANSACTIONS_V1, tally.name))
        [record] = await read_topic(bootstrap, letters, until=lambda kept: len(kept) >= 1,
                                    keep=lambda r: r.key.decode() == plain, timeout=20)
        assert record.timestamp / 1000 - plain_committed >= LINGER_SECONDS * 0.9

        debit = PointsDebited(member_id=f"C{uuid.uuid4().int % 10**10:010d}", debit_id="rdm_X",
                              points=800, balance_after=0, debited_at=datetime.now(UTC))
        assert PointsDebited.awaited
        async with tally.unit_of_work() as uow:
            uow.emit(debit)
        awaited_committed = time.time()
        [record] = await read_topic(bootstrap, tally.topic(POINTS_V1),
                                    until=lambda kept: len(kept) >= 1,
                                    keep=lambda r: r.key.decode() == debit.member_id,
                                    timeout=20)
        assert record.timestamp / 1000 - awaited_committed < LINGER_SECONDS * 0.5
