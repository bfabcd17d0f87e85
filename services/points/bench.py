"""Points accrual benchmark on the real broker and database (`scripts/bench-points`).

    python -m services.points.bench [--count 200000] [--customers 20000] [--seed 1]

1. Pre-loads `count` card transactions from the core-banking simulator (realistic mix:
   categories, refunds, refunds before purchases, duplicate deliveries) on a private topic.
2. Raw ceiling: consumes those records in batches and COPYs them into a bare table (no
   decoding, no rules), committing offsets after each database commit.
3. End to end: a points service (its own schema and group) consumes the same records; timed
   from its first record read until every ledger row is committed and every outgoing event
   is published by the relay.

Prints events/s for both and their ratio. Figures vary with the machine's load: compare the
ratio, measured in the same run, rather than absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from dataclasses import replace

import asyncpg
from aiokafka import AIOKafkaConsumer

from contracts.topics import CARD_TRANSACTIONS_V1
from runtime.kafka import ensure_topics
from runtime.relay import wait_until_drained
from simulator.batch import generate_batch
from simulator.publisher import make_producer, publish

from .app import build
from .invariants import check
from .settings import PointsSettings


async def preload(bootstrap: str, topic: str, count: int, customers: int, seed: int) -> int:
    batch = generate_batch(count, customers, seed)
    await ensure_topics(bootstrap, [topic], partitions=6)
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        return await publish(producer, (replace(r, topic=topic) for r in batch.transactions))
    finally:
        await producer.stop()


async def raw_ceiling(bootstrap: str, database_url: str, topic: str, total: int,
                      max_records: int) -> float:
    """Records/s: consume in batches, COPY each batch into a bare table, commit offsets."""
    table = f"bench_raw_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(database_url)
    await conn.execute(f"CREATE TABLE {table} (key bytea, value bytea)")
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=table,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    seen, started = 0, None
    try:
        while seen < total:
            batches = await consumer.getmany(timeout_ms=200, max_records=max_records)
            records = [r for rs in batches.values() for r in rs]
            if not records:
                continue
            started = started or time.perf_counter()
            async with conn.transaction():
                await conn.copy_records_to_table(
                    table, records=[(r.key, r.value) for r in records], columns=("key", "value"))
            await consumer.commit()
            seen += len(records)
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await conn.execute(f"DROP TABLE {table}")
        await conn.close()


async def end_to_end(prefix: str, total: int) -> tuple[float, dict]:
    service = build(f"points_bench_{uuid.uuid4().hex[:8]}", prefix)
    processor = service.card_transactions
    first_read: list[float] = []
    consumed = 0
    done = asyncio.Event()
    sizes: list[tuple[int, float]] = []
    totals = {"applied": 0, "duplicates": 0, "ignored": 0, "dead_lettered": 0}
    original = processor.process

    async def timed(records):
        nonlocal consumed
        began = time.perf_counter()
        if not first_read:
            first_read.append(began)
        report = await original(records)
        consumed += len(records)
        for key in ("applied", "duplicates", "ignored", "dead_lettered"):
            totals[key] += getattr(report, key)
        sizes.append((len(records), time.perf_counter() - began))
        if consumed >= total:
            done.set()
        return report

    processor.process = timed
    await service.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=1800)
        await wait_until_drained(service.pool, timeout=600)
        elapsed = time.perf_counter() - first_read[0]
        async with service.pool.acquire() as conn:
            broken = await check(conn)
        totals["invariants"] = "hold" if not broken else f"BROKEN: {sorted(broken)}"
        busy = sum(d for _, d in sizes)
        totals["batches"] = len(sizes)
        totals["mean_batch"] = round(sum(n for n, _ in sizes) / len(sizes))
        totals["in_batches_s"] = round(busy, 2)
        totals["elapsed_s"] = round(elapsed, 2)
        return total / elapsed, totals
    finally:
        await service.stop()
        await service_cleanup(service)


async def service_cleanup(service) -> None:
    conn = await asyncpg.connect(service.settings.database_url)
    try:
        await conn.execute(f'DROP SCHEMA "{service.schema}" CASCADE')
    finally:
        await conn.close()


async def main(count: int, customers: int, seed: int) -> None:
    bootstrap, database_url = os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"]
    prefix = f"bench.{uuid.uuid4().hex[:8]}."
    topic = prefix + CARD_TRANSACTIONS_V1
    started = time.perf_counter()
    total = await preload(bootstrap, topic, count, customers, seed)
    print(f"pre-loaded {total} records ({count} purchases plus refunds and duplicates)"
          f" in {time.perf_counter() - started:.1f}s on {topic}")
    max_records = PointsSettings().batch_max_records
    raw = await raw_ceiling(bootstrap, database_url, topic, total, max_records)
    print(f"raw ceiling (consume + COPY into a bare table): {raw:,.0f} records/s")
    e2e, totals = await end_to_end(prefix, total)
    print(f"points end to end (ledger committed, events published): {e2e:,.0f} events/s")
    print(f"  outcomes: {totals}")
    print(f"ratio end to end / raw ceiling: {e2e / raw:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.count, args.customers, args.seed))
