"""One outbox row per statement, holding its records in order (runtime/sql/0005); rows
written in the one-record layout before it are still published."""

from __future__ import annotations

import asyncpg
import pytest

from contracts.envelope import EncodedEvent
from runtime import outbox
from runtime.kafka import ensure_topics
from runtime.relay import wait_until_drained
from tests.integration.fresh import fresh_service
from tests.integration.kafka_tools import read_topic
from tests.integration.tally.service import build

pytestmark = pytest.mark.integration


async def test_a_transactions_records_are_one_row_published_in_order(infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    async with fresh_service(build, "tally") as tally:
        topics = ["rows.a", "rows.b"]
        await ensure_topics(bootstrap, [tally.topic(t) for t in topics], partitions=1)
        records = [EncodedEvent(topics[i % 2], b"k", str(i).encode(),
                                [("n", str(i).encode())] * (i % 3)) for i in range(10)]
        records.append(EncodedEvent(topics[0], b"k", None, [("ce_id", b"x")]))  # tombstone
        conn = await asyncpg.connect(infra["DATABASE_URL"],
                                     server_settings={"search_path": tally.name})
        try:
            async with conn.transaction():
                await outbox.write(conn, records)
                rows = await conn.fetchval("SELECT count(*) FROM outbox")
        finally:
            await conn.close()
        assert rows == 1
        for topic in topics:
            sent = [(r.value, r.headers) for r in records if r.topic == topic]
            got = await _read(bootstrap, tally.topic(topic), len(sent))
            assert [(r.value, list(r.headers)) for r in got] == sent
        await wait_until_drained(tally.pool)


async def _read(bootstrap: str, topic: str, n: int):
    return await read_topic(bootstrap, topic, until=lambda kept: len(kept) >= n, settle=1.0)


async def test_a_row_in_the_layout_before_is_published(infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    async with fresh_service(build, "tally") as tally:
        await ensure_topics(bootstrap, [tally.topic("rows.old")], partitions=1)
        async with tally.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO outbox (topic, key, value, header_names, header_values)"
                " VALUES ('rows.old', 'k', 'old', '{ce_id}', ARRAY['id-1'::bytea])")
        [got] = await read_topic(bootstrap, tally.topic("rows.old"),
                                 until=lambda kept: len(kept) >= 1, settle=1.0)
        assert (got.key, got.value, list(got.headers)) == (b"k", b"old", [("ce_id", b"id-1")])
        await wait_until_drained(tally.pool)
