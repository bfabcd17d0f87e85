"""The shared message path on the real Kafka broker and PostgreSQL, proved with the small
`tally` service: inbox, one transaction per batch, outbox, relay and dead letters."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest
from prometheus_client import REGISTRY

from contracts.corebanking.v1 import CardTransactionPosted, CardTransactionRefunded, Merchant
from contracts.envelope import EncodedEvent, encode
from contracts.topics import CARD_TRANSACTIONS_V1, POINTS_V1, dead_letter_topic
from runtime import inbox
from runtime.kafka import ensure_topics
from runtime.relay import wait_until_drained
from tests.integration.fresh import customers, fresh_service
from tests.integration.kafka_tools import (
    committed_offsets,
    eventually,
    produce,
    read_topic,
)
from tests.integration.tally.service import build

pytestmark = pytest.mark.integration
SOURCE = "urn:test:corebanking"


def purchase(customer: str, amount: str, merchant: str = "全家便利店") -> EncodedEvent:
    event = CardTransactionPosted(
        transaction_id=uuid.uuid4().hex, customer_id=customer, card_token="tok_test_0001",
        merchant=Merchant(merchant_id="M1", name=merchant, mcc="5411", city="上海",
                          country="CN"),
        transaction_amount=Decimal(amount), transaction_currency="CNY",
        settlement_amount=Decimal(amount), settlement_currency="CNY",
        posted_at=datetime(2026, 11, 2, 12, tzinfo=UTC))
    return encode(event, source=SOURCE)


@pytest.fixture
async def tally(infra):
    """A fresh tally service (own schema, group and input topic), started and stopped."""
    async with fresh_service(build, "tally") as service:
        yield service


async def spend(url: str, schema: str) -> dict[str, Decimal]:
    conn = await asyncpg.connect(url, server_settings={"search_path": schema})
    try:
        return {r["customer_id"]: r["total"] for r in await conn.fetch("SELECT * FROM spend")}
    finally:
        await conn.close()


async def test_a_record_delivered_twice_changes_state_once(tally, infra):
    bootstrap, url = infra["KAFKA_BOOTSTRAP_SERVERS"], infra["DATABASE_URL"]
    members = customers(5)
    events = [purchase(members[i % 5], f"{10 + i}.50") for i in range(50)]
    expected: dict[str, Decimal] = {}
    for i in range(50):
        expected[members[i % 5]] = expected.get(members[i % 5], 0) + Decimal(f"{10 + i}.50")
    reports = []
    tally.transactions.after_commit.append(reports.append)

    # Duplicates inside the first delivery, and again after it was applied.
    await produce(bootstrap, tally.input_topic, events + events[:10])
    await eventually(lambda: _applied(reports, 50), what="first delivery applied")
    await produce(bootstrap, tally.input_topic, events[10:30])
    await eventually(lambda: _seen(reports, 80), what="redelivery consumed")

    assert await spend(url, tally.name) == expected
    assert sum(r.applied for r in reports) == 50
    assert sum(r.duplicates for r in reports) == 30
    points = await read_topic(
        bootstrap, tally.topic(POINTS_V1), keep=lambda r: r.key.decode() in members,
        until=lambda kept: len(kept) >= 50, settle=1.0)
    assert len(points) == 50
    assert len({dict(r.headers)["ce_id"] for r in points}) == 50


async def test_inbox_ids_older_than_the_retention_are_pruned_and_recent_ones_still_guard(
        tally, infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    members = customers(2)
    old, recent = [purchase(members[0], "1.00") for _ in range(25)], [purchase(members[1], "2.00")]
    reports = []
    tally.transactions.after_commit.append(reports.append)
    await produce(bootstrap, tally.input_topic, old + recent)
    await eventually(lambda: _applied(reports, 26), what="applied")
    old_ids = [dict(e.headers)["ce_id"].decode() for e in old]
    await tally.pool.execute(  # as if processed 15 days ago
        "UPDATE inbox SET processed_at = now() - interval '15 days'"
        " WHERE event_id = ANY($1::text[])", old_ids)

    assert await inbox.prune(tally.pool, retention_days=14, chunk=10) == 25  # 3 chunks
    assert await tally.pool.fetchval("SELECT count(*) FROM inbox") == 1
    await produce(bootstrap, tally.input_topic, recent)  # still within retention: dropped
    await eventually(lambda: _seen(reports, 27), what="redelivery consumed")
    assert sum(r.duplicates for r in reports) == 1
    assert await inbox.prune(tally.pool, retention_days=14) == 0


async def _applied(reports, n: int) -> bool:
    return sum(r.applied for r in reports) >= n


async def _seen(reports, n: int) -> bool:
    return sum(r.applied + r.duplicates for r in reports) >= n


async def test_crash_between_database_commit_and_offset_commit_changes_nothing(infra):
    bootstrap, url = infra["KAFKA_BOOTSTRAP_SERVERS"], infra["DATABASE_URL"]
    name = f"tally_{uuid.uuid4().hex[:8]}"
    prefix = f"test.{name}."
    topic = prefix + CARD_TRANSACTIONS_V1
    await ensure_topics(bootstrap, [topic], partitions=1)
    members = customers(3)
    events = [purchase(members[i % 3], "100.00") for i in range(30)]
    await produce(bootstrap, topic, events)

    # A real process that dies (os._exit) right after its first database commit.
    crashed = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.tally.service", name, prefix,
        env={**os.environ, **infra}, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(crashed.communicate(), timeout=120)
    assert crashed.returncode == 137, stderr.decode()[-3000:]
    committed_before = await spend(url, name)
    assert committed_before, "the first batch reached the database"
    offsets = await committed_offsets(bootstrap, name)
    assert all(offset <= 0 for offset in offsets.values()), offsets

    service = build(name, prefix)
    reports = []
    service.transactions.after_commit.append(reports.append)
    await service.start()
    try:
        await eventually(lambda: _seen(reports, 30), what="redelivery consumed")
        assert await spend(url, name) == {m: Decimal("1000.00") for m in members}
        first_batch = sum(1 for _ in committed_before)  # customers touched, at least one
        assert sum(r.duplicates for r in reports) >= first_batch
        assert sum(r.applied + r.duplicates for r in reports) == 30
        assert sum(r.applied for r in reports) < 30  # some were already in the database
    finally:
        await service.stop()
    assert (await committed_offsets(bootstrap, name))[(topic, 0)] == 30


async def test_bad_records_are_dead_lettered_and_the_batch_goes_on(tally, infra):
    bootstrap, url = infra["KAFKA_BOOTSTRAP_SERVERS"], infra["DATABASE_URL"]
    member = customers(1)[0]
    good_before, good_after = purchase(member, "20.00"), purchase(member, "22.00")
    template = purchase(member, "1.00")
    bad_json = EncodedEvent(tally.input_topic, template.key, b'{"transaction_id": ',
                            _fresh_id(template.headers))
    invalid = json.loads(purchase(member, "5.00").value)
    invalid["settlement_amount"] = "-5.00"
    schema_invalid = EncodedEvent(tally.input_topic, template.key, json.dumps(invalid).encode(),
                                  _fresh_id(template.headers))
    no_envelope = EncodedEvent(tally.input_topic, template.key, template.value,
                               [("content-type", b"application/json")])
    unknown_type = EncodedEvent(tally.input_topic, template.key, template.value,
                                [(k, b"corebanking.card.exploded" if k == "ce_type" else v)
                                 for k, v in _fresh_id(template.headers)])
    handler_bug = purchase(member, "7.00", merchant="BOOM")
    over_limit = purchase(member, "2000000.00")
    refund = encode(CardTransactionRefunded(
        refund_id="R1", original_transaction_id="T0", customer_id=member,
        card_token="tok_test_0001", mcc="5411", refund_amount=Decimal("1.00"),
        settlement_currency="CNY", refunded_at=datetime.now(UTC)), source=SOURCE)
    batch = [good_before, bad_json, schema_invalid, no_envelope, unknown_type, handler_bug,
             over_limit, refund, good_after]
    reports = []
    tally.transactions.after_commit.append(reports.append)
    await produce(bootstrap, tally.input_topic, batch)
    await eventually(lambda: _seen_all(reports, len(batch)), what="whole batch consumed")

    assert await spend(url, tally.name) == {member: Decimal("42.00")}
    dlq = tally.topic(dead_letter_topic(CARD_TRANSACTIONS_V1, tally.name))
    letters = await read_topic(bootstrap, dlq, until=lambda kept: len(kept) >= 6, settle=1.0)
    assert len(letters) == 6  # the refund is a known type this consumer ignores
    by_value = {r.value: dict(r.headers) for r in letters}
    assert by_value[b'{"transaction_id": ']["dlq_error"] == b"invalid_data"
    assert b"settlement_amount" in by_value[json.dumps(invalid).encode()]["dlq_reason"]
    assert by_value[over_limit.value]["dlq_error"] == b"rejected"
    assert by_value[handler_bug.value]["dlq_error"] == b"handler_error"
    assert b"RuntimeError" in by_value[handler_bug.value]["dlq_reason"]
    errors = sorted(dict(r.headers)["dlq_error"].decode() for r in letters)
    assert errors == ["handler_error", "invalid_data", "invalid_data", "invalid_envelope",
                      "rejected", "unknown_type"]
    for record in letters:  # original bytes, original headers, where it came from
        headers = dict(record.headers)
        assert headers["dlq_original_topic"] == tally.input_topic.encode()
        assert int(headers["dlq_original_offset"]) >= 0
        assert record.key == template.key
    assert dict(next(r for r in letters if r.value == handler_bug.value).headers)["ce_id"] == \
        dict(handler_bug.headers)["ce_id"]


async def _seen_all(reports, n: int) -> bool:
    return sum(r.applied + r.duplicates + r.ignored + r.dead_lettered for r in reports) >= n


def _fresh_id(headers):
    return [(k, uuid.uuid4().hex.encode() if k == "ce_id" else v) for k, v in headers]


async def test_an_outbox_row_from_a_rolled_back_transaction_is_never_published(tally, infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    topic = "outbox"  # written under its contract name, published under the prefix
    await ensure_topics(bootstrap, [tally.topic(topic)], partitions=3)
    from runtime import outbox

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with tally.pool.acquire() as conn, conn.transaction():
            await outbox.write(conn, [EncodedEvent(topic, b"k", b"rolled back", [])])
            raise Abort
    async with tally.pool.acquire() as conn, conn.transaction():
        await outbox.write(conn, [EncodedEvent(topic, b"k", b"committed", [])])

    records = await read_topic(bootstrap, tally.topic(topic), until=lambda kept: len(kept) >= 1,
                               settle=2.0)
    assert [r.value for r in records] == [b"committed"]
    await wait_until_drained(tally.pool)


async def test_relay_keeps_order_per_key_and_only_one_relay_is_active(tally, infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    topic = "ordered"
    await ensure_topics(bootstrap, [tally.topic(topic)], partitions=3)
    standby = build(tally.name, tally.topic_prefix)  # a second instance of the same service
    await standby.start()
    try:
        await asyncio.sleep(1.5)
        assert [tally.relay.active, standby.relay.active].count(True) == 1
        from runtime import outbox

        keys = [f"member-{i}".encode() for i in range(10)]
        for chunk in range(5):  # several transactions, as consumers would write them
            async with tally.pool.acquire() as conn, conn.transaction():
                await outbox.write(conn, [
                    EncodedEvent(topic, key, str(chunk * 200 + n).encode(), [])
                    for n in range(200) for key in [keys[n % 10]]])
        records = await read_topic(bootstrap, tally.topic(topic),
                                   until=lambda kept: len(kept) >= 1000)
        by_key: dict[bytes, list[int]] = {}
        for record in records:
            by_key.setdefault(record.key, []).append(int(record.value))
        assert len(records) == 1000
        assert all(seq == sorted(seq) for seq in by_key.values())

        # The active instance goes away: the standby takes over and publishes.
        active, other = (tally, standby) if tally.relay.active else (standby, tally)
        await active.stop()
        async with other.pool.acquire() as conn, conn.transaction():
            await outbox.write(conn, [EncodedEvent(topic, b"after", b"failover", [])])
        late = await read_topic(bootstrap, tally.topic(topic), keep=lambda r: r.key == b"after",
                                until=lambda kept: len(kept) >= 1, timeout=30)
        assert other.relay.active and late[0].value == b"failover"
        if active is tally:
            await tally.start()  # the fixture stops it again
    finally:
        await standby.stop()


async def test_database_connections_dropped_mid_stream_lose_nothing(tally, infra):
    bootstrap, url = infra["KAFKA_BOOTSTRAP_SERVERS"], infra["DATABASE_URL"]
    members = customers(20)
    events = [purchase(members[i % 20], "3.00") for i in range(3000)]
    reports = []
    tally.transactions.after_commit.append(reports.append)
    operation = f"{tally.name}:{CARD_TRANSACTIONS_V1}"
    retries_before = _retries(operation)
    producing = asyncio.create_task(produce(bootstrap, tally.input_topic, events))
    admin = await asyncpg.connect(url)
    terminated = 0
    try:
        while await _inbox_size(url, tally.name) < 2000:
            # What a database failover or restart looks like to a service.
            terminated += await admin.fetchval(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                "FROM pg_stat_activity WHERE application_name = $1", f"loyalty-{tally.name}")
            await asyncio.sleep(0.05)
    finally:
        await admin.close()
    await producing
    await eventually(lambda: _inbox_has(url, tally.name, 3000), timeout=60, what="all applied")
    totals = await spend(url, tally.name)
    assert totals == {m: Decimal("450.00") for m in members}
    assert sum(r.dead_lettered for r in reports) == 0
    assert terminated > 0 and _retries(operation) > retries_before


async def _inbox_size(url: str, schema: str) -> int:
    conn = await asyncpg.connect(url, server_settings={"search_path": schema})
    try:
        return await conn.fetchval("SELECT count(*) FROM inbox")
    finally:
        await conn.close()


async def _inbox_has(url: str, schema: str, n: int) -> bool:
    return await _inbox_size(url, schema) >= n


def _retries(operation: str) -> float:
    return REGISTRY.get_sample_value("loyalty_transient_retries_total",
                                     {"operation": operation}) or 0.0


async def test_a_relay_taking_over_does_not_publish_again_what_its_predecessor_sent(
        tally, infra):
    """A relay killed after Kafka acknowledged its batch, before it deleted the rows."""
    bootstrap, url = infra["KAFKA_BOOTSTRAP_SERVERS"], infra["DATABASE_URL"]
    member = customers(1)[0]
    events = [purchase(member, f"{i}.00") for i in range(1, 6)]
    await tally.stop()
    conn = await asyncpg.connect(url, server_settings={"search_path": tally.name})
    try:
        from runtime import outbox

        async with conn.transaction():
            await outbox.write(conn, events)  # to the tally's input topic: any topic will do
    finally:
        await conn.close()
    sent_before_the_crash = events[:3]
    await produce(bootstrap, tally.input_topic, sent_before_the_crash)

    await tally.start()
    records = await read_topic(bootstrap, tally.input_topic, until=lambda kept: len(kept) >= 5,
                               settle=2.0)
    ids = [dict(r.headers)["ce_id"] for r in records]
    assert sorted(ids) == sorted(dict(e.headers)["ce_id"] for e in events)
    await wait_until_drained(tally.pool)


async def test_an_instance_joining_mid_stream_makes_the_group_apply_nothing_twice(tally, infra):
    """A rebalance waits for the batch in hand to be committed, so the partitions' next owner
    starts after it: no batch is applied twice (the inbox would count it as duplicates)."""
    bootstrap, url = infra["KAFKA_BOOTSTRAP_SERVERS"], infra["DATABASE_URL"]
    members = customers(30)
    events = [purchase(members[i % 30], "1.00", merchant="SLOW") for i in range(6000)]
    reports = []
    tally.transactions.after_commit.append(reports.append)
    producing = asyncio.create_task(produce(bootstrap, tally.input_topic, events))
    await eventually(lambda: _applied(reports, 500), what="first instance consuming")
    joiner = build(tally.name, tally.topic_prefix)  # a second instance of the same service
    joiner.transactions.after_commit.append(reports.append)
    await joiner.start()
    try:
        await producing
        await eventually(lambda: _inbox_has(url, tally.name, 6000), timeout=120,
                         what="all applied")
        await eventually(lambda: _seen_all(reports, 6000), what="all reported")
        assert sum(r.duplicates for r in reports) == 0
        assert sum(r.applied for r in reports) == 6000
        assert await spend(url, tally.name) == {m: Decimal("200.00") for m in members}
    finally:
        await joiner.stop()
