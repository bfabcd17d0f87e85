"""Points accrual benchmark on the real broker and database (`scripts/bench-points`).

    python -m tools.bench.points [--count 200000] [--customers 20000] [--seed 1]
                                 [--processes 2]
                                 [--history-members 500000 --history-transfers 5000000]
                                 [--profile 15]

1. Pre-loads `count` card transactions from the core-banking simulator (realistic mix:
   categories, refunds, refunds before purchases, duplicate deliveries) on a private topic.
2. Raw ceiling: consumes those records in batches and COPYs them into a bare table (no
   decoding, no rules), committing offsets after each database commit.
3. End to end: `--processes` points service processes (their own schema, one consumer
   group, as replicas would run) consume the same records; timed from the first record any
   of them read until the group has committed every offset (after the ledger commits) and
   the outbox is empty (every outgoing event published).
4. With `--history-members` (and `--history-transfers`, default 10 per member): a fresh
   schema is first loaded with that history by COPY (tools/bench/history.py: members with
   accounts, balances, lots, purchases, redemptions and expiries; the benchmark's
   customers among them), then step 3 runs again on it, as another consumer group of the
   same topic; the rate is printed beside the empty-database one with their ratio (the
   target: at least 0.80).

Prints events/s for each phase, the ratio end to end / raw ceiling, and the replays:
records the group read more than once (a batch read again after a rebalance or restart),
which the inbox dropped as duplicates. For each phase also the machine CPU per event split
by process kind (service processes, PostgreSQL, the broker, this benchmark, interrupts,
other work on the machine), from /proc (tools/bench/cpu.py explains the counting); the
window runs from the first committed offset (the raw ceiling: the first record read) to
the end, over the events committed in it. The outcomes add the blocks each table read from
outside PostgreSQL's shared buffers per event (the schema's own) and the WAL bytes and
full-page images per event (the whole cluster's). Figures vary with the machine's load: compare the
ratios, measured in the same run, rather than absolute numbers across runs.

With `--profile N` each service process runs under cProfile from its first batch to its
stop (consumer, handler and relay alike), and the top N functions of all of them together
are printed by own and by cumulative time, with the profiled time per event: where the
service processes' Python time goes (the profiler slows them down; compare shares, and
run with `--processes 1` for one process's view).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
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

from .cpu import CpuProbe, Split
from .history import History, load_history

PARTITIONS = 6


async def preload(bootstrap: str, topic: str, count: int, customers: int,
                  seed: int) -> tuple[int, frozenset[str]]:
    """Records published, and the customers (record keys) they name."""
    batch = generate_batch(count, customers, seed)
    await ensure_topics(bootstrap, [topic], partitions=PARTITIONS)
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        published = await publish(producer,
                                  (replace(r, topic=topic) for r in batch.transactions))
    finally:
        await producer.stop()
    return published, frozenset(r.key.decode() for r in batch.transactions)


async def raw_ceiling(bootstrap: str, database_url: str, topic: str, total: int,
                      max_records: int, probe: CpuProbe) -> tuple[float, Split]:
    """Records/s: consume in batches, COPY each batch into a bare table, commit offsets;
    and the CPU from the first record read to the last commit."""
    table = f"bench_raw_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(database_url)
    await conn.execute(f"CREATE TABLE {table} (key bytea, value bytea)")
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=table,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    seen, started, cpu = 0, None, None
    try:
        while seen < total:
            batches = await consumer.getmany(timeout_ms=200, max_records=max_records)
            records = [r for rs in batches.values() for r in rs]
            if not records:
                continue
            if started is None:
                started, cpu = time.perf_counter(), probe.sample()
            async with conn.transaction():
                await conn.copy_records_to_table(
                    table, records=[(r.key, r.value) for r in records], columns=("key", "value"))
            await consumer.commit()
            seen += len(records)
        return seen / (time.perf_counter() - started), probe.sample() - cpu
    finally:
        await consumer.stop()
        await conn.execute(f"DROP TABLE {table}")
        await conn.close()


async def end_to_end(bootstrap: str, database_url: str, prefix: str, topic: str,
                     processes: int, schema: str, probe: CpuProbe,
                     profiles: list[str] | None = None) -> tuple[float, dict, Split]:
    """Events/s through `processes` points service processes (one consumer group, named
    after `schema`), from the first record any of them read until the group has committed
    every record and the outbox is empty; the outcomes, and the CPU per event from the
    first committed offset on. With `profiles` (a file per process), each process writes
    its cProfile statistics there."""
    workers = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tools.bench.points", "--worker", schema, prefix,
        *(["--profile-to", profiles[n]] if profiles else []),
        stdout=asyncio.subprocess.PIPE) for n in range(processes)]
    pids = [w.pid for w in workers]
    io_before, wal_before = await _io(database_url, schema)
    try:
        total, steady, (first, cpu_before, at_first) = await _wait_until_consumed(
            bootstrap, topic, schema, lambda: probe.sample(pids))
        consumed = time.time()
        conn = await asyncpg.connect(database_url, server_settings={"search_path": schema})
        try:
            while await conn.fetchval("SELECT count(*) FROM outbox"):
                await asyncio.sleep(0.05)
            finished = time.time()
            split = probe.sample(pids) - cpu_before
            io, wal = await _io(database_url, schema)
            broken = await check(conn)
        finally:
            await conn.close()
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
        outputs = [json.loads((await w.communicate())[0] or b"{}") for w in workers]
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
    totals["machine_cpu_busy"] = f"{split.busy_share(finished - first):.0%}"
    totals["cpu_window_events"] = total - at_first
    totals["wal_per_event_cluster"] = {key: round((wal[key] - wal_before[key]) / total, 2)
                                       for key in wal}
    totals["blocks_read_per_event"] = {
        table: round(blocks / total, 2) for table, blocks in sorted(
            ((t, n - io_before.get(t, 0)) for t, n in io.items()),
            key=lambda kv: -kv[1])[:4] if blocks}
    return total / elapsed, totals, split


async def _io(database_url: str, schema: str) -> tuple[dict[str, int], dict[str, int]]:
    """Blocks each of the schema's tables (with its indexes) read from outside PostgreSQL's
    shared buffers so far: the cost of a working set larger than the cache. And the WAL
    written so far, bytes and full-page images (of the whole cluster: other schemas'
    writes too), which grow when each commit dirties pages of its own in large tables."""
    conn = await asyncpg.connect(database_url)
    try:
        blocks = dict(await conn.fetch(
            "SELECT relname, coalesce(heap_blks_read, 0) + coalesce(idx_blks_read, 0)"
            " FROM pg_statio_user_tables WHERE schemaname = $1", schema))
        wal = dict(await conn.fetchrow("SELECT wal_bytes::bigint AS bytes, wal_fpi AS fpi"
                                       " FROM pg_stat_wal"))
        return blocks, wal
    finally:
        await conn.close()


async def _wait_until_consumed(bootstrap: str, topic: str, group: str,
                               sample: Callable[[], Split]
                               ) -> tuple[int, float, tuple[float, Split, int]]:
    """Until the group's committed offsets reach the end of every partition. Returns the
    number of records on the topic, the records/s committed between 10% and 90% of them
    (steady state: without the group's start-up rebalances and the last batches), and when
    the first offsets were seen committed: the time, a CPU sample, and how many."""
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
        first = None
        while True:
            committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
            done = sum(committed[tp].offset - begins[tp] for tp in partitions
                       if tp in committed and committed[tp].offset >= 0)
            if done and first is None:
                first = (time.time(), sample(), done)
            for share in (0.1, 0.9):
                if done >= share * total:
                    marks.setdefault(share, time.time())
            if done >= total:
                return total, 0.8 * total / max(marks[0.9] - marks[0.1], 1e-3), first
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


async def worker(schema: str, prefix: str, profile_to: str | None = None) -> None:
    """One points service process of the benchmark: runs until SIGTERM, then prints what it
    did as one JSON line. With `profile_to`, runs under cProfile from its first batch on
    and writes the statistics to that file when it stops."""
    service = build(schema, prefix)
    processor = service.card_transactions
    stats = {"first_read": None, "records": 0, "batches": 0, "applied": 0, "duplicates": 0,
             "ignored": 0, "dead_lettered": 0}
    original = processor.process
    profiler = cProfile.Profile() if profile_to else None

    async def timed(records):
        if stats["first_read"] is None and profiler:
            profiler.enable()
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
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile_to)
        await service.stop()
    print(json.dumps(stats), flush=True)


def print_profile(files: list[str], events: int, top: int) -> None:
    """The service processes' profiles together: the `top` functions by own time and by
    cumulative time, and the profiled time per event."""
    found = [f for f in files if os.path.exists(f) and os.path.getsize(f)]
    if not found:
        print("  no profile written")
        return
    stats = pstats.Stats(*found, stream=(out := io.StringIO()))
    # Wall time (a CPU-time timer costs more than most functions it would time): the time
    # spent waiting for the network in poll is left out of the total.
    idle = sum(row[2] for (_, _, name), row in stats.stats.items()  # type: ignore[attr-defined]
               if name.startswith("<method 'poll' of 'select."))
    busy = stats.total_tt - idle  # type: ignore[attr-defined]
    print(f"  profiled: {busy:.2f}s busy (besides {idle:.2f}s waiting in poll) in"
          f" {len(found)} process(es), {busy / max(events, 1) * 1e6:.0f} µs per event"
          " (slowed by the profiler; on a shared machine, by waiting for a core too)")
    for order in ("tottime", "cumulative"):
        out.seek(0)
        out.truncate()
        stats.sort_stats(order).print_stats(top)
        table = out.getvalue()
        print(f"  top {top} by {order}:")
        print("\n".join("    " + line for line in
                        table[table.index("   ncalls"):].rstrip().splitlines()))


async def main(count: int, customers: int, seed: int, processes: int,
               history: History | None, profile: int = 0) -> None:
    bootstrap, database_url = os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"]
    prefix = f"bench.{uuid.uuid4().hex[:8]}."
    topic = prefix + CARD_TRANSACTIONS_V1
    probe = await CpuProbe.find(database_url, bootstrap)
    started = time.perf_counter()
    total, members = await preload(bootstrap, topic, count, customers, seed)
    print(f"pre-loaded {total} records ({count} purchases plus refunds and duplicates)"
          f" in {time.perf_counter() - started:.1f}s on {topic}")
    max_records = PointsSettings().batch_max_records
    raw, raw_cpu = await raw_ceiling(bootstrap, database_url, topic, total, max_records, probe)
    print(f"raw ceiling (consume + COPY into a bare table): {raw:,.0f} records/s")
    print(f"  {Split.describe(raw_cpu.per_event(total))}")
    empty = await _accrual(bootstrap, database_url, prefix, topic, processes, probe, raw,
                           "empty database", profile=profile)
    if history:
        schema = f"points_bench_{uuid.uuid4().hex[:8]}"
        history = replace(history, include=members)
        print(f"loading a history of {history.members:,} members and {history.transfers:,}"
              f" transfers into {schema} (the benchmark's {len(members):,} customers among"
              " them)")
        try:
            await load_history(database_url, schema, history)
        except BaseException:
            await _drop_schema(database_url, schema)
            raise
        rate = await _accrual(bootstrap, database_url, prefix, topic, processes, probe, raw,
                              "with history", schema)
        print(f"ratio with history / empty database: {rate / empty:.2f} (target at least 0.80)")
    await delete_topics(bootstrap, prefix)  # a broker holds every partition in memory


async def _accrual(bootstrap: str, database_url: str, prefix: str, topic: str,
                   processes: int, probe: CpuProbe, raw: float, label: str,
                   schema: str | None = None, profile: int = 0) -> float:
    """Step 3 on `schema` (a fresh one if None), printed; returns its events/s. With
    `profile`, the service processes' top `profile` functions too."""
    schema = schema or f"points_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as folder:
        profiles = ([os.path.join(folder, f"{n}.prof") for n in range(processes)]
                    if profile else None)
        try:
            e2e, totals, split = await end_to_end(bootstrap, database_url, prefix, topic,
                                                  processes, schema, probe, profiles)
        finally:
            await _drop_schema(database_url, schema)
        if profiles:
            print(f"service processes' profile, {label}:")
            # From each process's first batch on: every record the group read.
            print_profile(profiles, sum(totals[key] for key in (
                "applied", "duplicates", "ignored", "dead_lettered")), profile)
    print(f"points end to end, {label}, {processes} process(es) (ledger committed, events"
          f" published): {e2e:,.0f} events/s")
    print(f"  {Split.describe(split.per_event(totals['cpu_window_events']))}")
    print(f"  outcomes: {totals}")
    print(f"  replays: {totals['replayed']:,} records read again after a rebalance or restart;"
          f" inbox duplicates {totals['duplicates']:,} (the replays' events plus the input's"
          " own duplicate deliveries)")
    print(f"ratio end to end ({label}) / raw ceiling: {e2e / raw:.2f}")
    return e2e


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processes", type=int, default=2,
                        help="points service processes sharing the consumer group")
    parser.add_argument("--history-members", type=int, default=0,
                        help="also run on a schema first loaded with this many members")
    parser.add_argument("--history-transfers", type=int, default=0,
                        help="past transfers of that history (default: 10 per member)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="run the service processes under cProfile and print their top"
                             " N functions (own and cumulative time)")
    parser.add_argument("--worker", nargs=2, metavar=("SCHEMA", "PREFIX"), help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(*args.worker, args.profile_to))
    else:
        past = (History(args.history_members,
                        args.history_transfers or 10 * args.history_members)
                if args.history_members else None)
        asyncio.run(main(args.count, args.customers, args.seed, args.processes, past,
                         args.profile))
