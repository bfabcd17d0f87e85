"""Points accrual benchmark on the real broker and database (`scripts/bench-points`).

    python -m tools.bench.points [--count 200000] [--customers 20000] [--seed 1]
                                    [--processes 2]

1. Pre-loads `count` card transactions from the core-banking simulator (realistic mix:
   categories, refunds, refunds before purchases, duplicate deliveries) on a private topic.
2. Raw ceiling: consumes those records in batches and COPYs them into a bare table (no
   decoding, no rules), committing offsets after each database commit.
3. End to end: `--processes` points service processes (their own schema, one consumer
   group, as replicas would run) consume the same records; timed from the first record any
   of them read until the group has committed every offset (after the ledger commits) and
   the outbox is empty (every outgoing event published).

Prints events/s for both and their ratio, and the replays: records the group read more
than once (a batch read again after a rebalance or restart), which the inbox dropped as
duplicates. Figures vary with the machine's load: compare the
ratio, measured in the same run, rather than absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import uuid
from dataclasses import replace

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.topics import CARD_TRANSACTIONS_V1
from runtime.kafka import delete_topics, ensure_topics
from services.points.app import build
from services.points.invariants import check
from services.points.settings import PointsSettings
from simulator.batch import generate_batch
from simulator.publisher import make_producer, publish

PARTITIONS = 6


async def preload(bootstrap: str, topic: str, count: int, customers: int, seed: int) -> int:
    batch = generate_batch(count, customers, seed)
    await ensure_topics(bootstrap, [topic], partitions=PARTITIONS)
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


async def end_to_end(bootstrap: str, database_url: str, prefix: str, topic: str,
                     processes: int) -> tuple[float, dict]:
    """Events/s through `processes` points service processes (one consumer group), from the
    first record any of them read until the group has committed every record and the outbox
    is empty."""
    schema = f"points_bench_{uuid.uuid4().hex[:8]}"
    workers = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tools.bench.points", "--worker", schema, prefix,
        stdout=asyncio.subprocess.PIPE) for _ in range(processes)]
    cpu_before = _machine_cpu()
    try:
        total, steady = await _wait_until_consumed(bootstrap, topic, group=schema)
        consumed = time.time()
        conn = await asyncpg.connect(database_url, server_settings={"search_path": schema})
        try:
            while await conn.fetchval("SELECT count(*) FROM outbox"):
                await asyncio.sleep(0.05)
            finished = time.time()
            busy = _machine_cpu(since=cpu_before)
            broken = await check(conn)
        finally:
            await conn.close()
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
        outputs = [json.loads((await w.communicate())[0] or b"{}") for w in workers]
    await _drop_schema(database_url, schema)
    stats = [o for o in outputs if o.get("batches")]
    elapsed = finished - min(o["first_read"] for o in stats)
    totals = {key: sum(o[key] for o in stats)
              for key in ("applied", "duplicates", "ignored", "dead_lettered", "batches")}
    # Records read more than once: a batch replayed after a rebalance or a restart (its
    # offsets not committed yet); the inbox drops its events as duplicates.
    totals["replayed"] = sum(o["records"] for o in stats) - total
    totals["invariants"] = "hold" if not broken else f"BROKEN: {sorted(broken)}"
    totals["mean_batch"] = round(sum(o["records"] for o in stats) / totals["batches"])
    totals["elapsed_s"] = round(elapsed, 2)
    totals["relay_after_consumed_s"] = round(finished - consumed, 2)
    totals["steady_10_to_90_pct_events_s"] = round(steady)
    totals["machine_cpu_busy"] = f"{busy:.0%}"
    return total / elapsed, totals


def _machine_cpu(since: tuple[int, int] | None = None):
    """(busy, total) jiffies from /proc/stat; with `since`, the busy share in between."""
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    now = (sum(fields) - fields[3] - fields[4], sum(fields))  # idle and iowait are not busy
    if since is None:
        return now
    return (now[0] - since[0]) / max(now[1] - since[1], 1)


async def _wait_until_consumed(bootstrap: str, topic: str, group: str) -> tuple[int, float]:
    """Until the group's committed offsets reach the end of every partition. Returns the
    number of records on the topic, and the records/s committed between 10% and 90% of them
    (steady state: without the group's start-up rebalances and the last batches)."""
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await probe.start()
    await admin.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = await probe.end_offsets(partitions)
        begins = await probe.beginning_offsets(partitions)
        total = sum(ends[tp] - begins[tp] for tp in partitions)
        marks: dict[float, float] = {}
        while True:
            committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
            done = sum(committed[tp].offset - begins[tp] for tp in partitions if tp in committed)
            for share in (0.1, 0.9):
                if done >= share * total:
                    marks.setdefault(share, time.time())
            if done >= total:
                return total, 0.8 * total / max(marks[0.9] - marks[0.1], 1e-3)
            await asyncio.sleep(0.05)
    finally:
        await admin.close()
        await probe.stop()


async def _drop_schema(database_url: str, schema: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()


async def worker(schema: str, prefix: str) -> None:
    """One points service process of the benchmark: runs until SIGTERM, then prints what it
    did as one JSON line."""
    service = build(schema, prefix)
    processor = service.card_transactions
    stats = {"first_read": None, "records": 0, "batches": 0, "applied": 0, "duplicates": 0,
             "ignored": 0, "dead_lettered": 0}
    original = processor.process

    async def timed(records):
        stats["first_read"] = stats["first_read"] or time.time()
        report = await original(records)
        stats["records"] += len(records)
        stats["batches"] += 1
        for key in ("applied", "duplicates", "ignored", "dead_lettered"):
            stats[key] += getattr(report, key)
        return report

    processor.process = timed
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await service.start()
    try:
        await stop.wait()
    finally:
        await service.stop()
    print(json.dumps(stats), flush=True)


async def main(count: int, customers: int, seed: int, processes: int) -> None:
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
    e2e, totals = await end_to_end(bootstrap, database_url, prefix, topic, processes)
    print(f"points end to end, {processes} process(es) (ledger committed, events published):"
          f" {e2e:,.0f} events/s")
    print(f"  outcomes: {totals}")
    print(f"  replays: {totals['replayed']:,} records read again after a rebalance or restart;"
          f" inbox duplicates {totals['duplicates']:,} (the replays' events plus the input's"
          " own duplicate deliveries)")
    print(f"ratio end to end / raw ceiling: {e2e / raw:.2f}")
    await delete_topics(bootstrap, prefix)  # a broker holds every partition in memory


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processes", type=int, default=2,
                        help="points service processes sharing the consumer group")
    parser.add_argument("--worker", nargs=2, metavar=("SCHEMA", "PREFIX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(*args.worker))
    else:
        asyncio.run(main(args.count, args.customers, args.seed, args.processes))
