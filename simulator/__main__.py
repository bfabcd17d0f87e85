"""`python -m simulator`: core banking publishing to Kafka.

--count N   customers, their last monthly assets, then N card purchases, as fast as
            possible; exits when the broker has acknowledged everything.
--rate R    R card purchases a second until interrupted, with customer churn and a
            round of asset snapshots every --month-seconds.

--partner-rate P (with --rate) also acts as the partners (simulator/partners.py): P signed
            lounge visits and offer redemptions a second at the rewards API (--rewards-url),
            with the key in --partner-key-file (`loyalty-ops partners create --json`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import httpx

from contracts import topics
from contracts.envelope import EncodedEvent
from runtime.kafka import ensure_topics

from .batch import generate_batch
from .live import LiveSimulation
from .partners import PartnerTraffic, load_key
from .publisher import ConfigError, bootstrap_servers, make_producer, publish

TOPICS = (topics.CUSTOMERS_V1, topics.ASSET_SNAPSHOTS_V1, topics.CARD_TRANSACTIONS_V1)
TICK_S = 0.1
REPORT_EVERY_S = 10.0
#: Partner requests at once (and HTTP connections to the rewards API).
IN_FLIGHT = 20


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--count", type=_positive_int, help="card purchases in one batch")
    mode.add_argument("--rate", type=_positive_float, help="card purchases per second")
    parser.add_argument("--customers", type=_positive_int, default=10_000)
    parser.add_argument(
        "--seed", type=int, help="reproduce a run (same seed, same events and ce_ids)"
    )
    parser.add_argument(
        "--partitions",
        type=_positive_int,
        default=6,
        help="partitions of a topic the simulator has to create (default 6)",
    )
    parser.add_argument(
        "--topic-prefix", default="",
        help="publish to prefix + each topic (a copy of the platform with TOPIC_PREFIX)")
    parser.add_argument(
        "--month-seconds",
        type=_positive_float,
        default=60.0,
        help="wall-clock seconds per simulated month in --rate mode (default 60)",
    )
    partners = parser.add_argument_group("partners (with --rate)")
    partners.add_argument("--partner-rate", type=float, default=0.0,
                          help="partner requests per second (default 0: none)")
    partners.add_argument("--partner-key-file", type=Path,
                          help="the partner key as `loyalty-ops partners create --json` prints")
    partners.add_argument("--rewards-url", default="http://127.0.0.1:8003")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _by_type(records: list[EncodedEvent]) -> Counter[str]:
    return Counter(dict(r.headers)["ce_type"].decode() for r in records)


def _prefixed(records: list[EncodedEvent], prefix: str) -> list[EncodedEvent]:
    return [replace(r, topic=prefix + r.topic) for r in records] if prefix else records


async def run_batch(servers: str, count: int, customers: int, seed: int,
                    prefix: str = "") -> Counter[str]:
    started = time.perf_counter()
    batch = generate_batch(count, customers, seed)
    records = batch.records()
    generated = time.perf_counter()
    print(
        f"generated {len(records)} records in {generated - started:.1f}s "
        f"({batch.counts['refunds']} refunds, {batch.counts['early_refunds']} before their "
        f"purchase, {batch.counts['duplicates']} duplicate deliveries)",
        flush=True,
    )
    producer = make_producer(servers)
    await producer.start()
    try:
        await publish(producer, _prefixed(records, prefix))
    finally:
        await producer.stop()
    elapsed = time.perf_counter() - generated
    print(f"published in {elapsed:.1f}s ({len(records) / elapsed:,.0f} records/s)", flush=True)
    return _by_type(records)


async def run_live(
    servers: str, rate: float, customers: int, seed: int, month_seconds: float,
    partners: argparse.Namespace | None = None, prefix: str = "",
) -> Counter[str]:
    simulation = LiveSimulation(seed, customers, month_seconds=month_seconds)
    published: Counter[str] = Counter()
    producer = make_producer(servers)
    await producer.start()
    traffic = None
    async with contextlib.AsyncExitStack() as stack:
        if partners is not None and partners.partner_rate > 0:
            traffic = await _partner_traffic(stack, simulation, partners, seed)
        await _live(producer, simulation, rate, published, traffic, prefix)
    return published


async def _partner_traffic(stack: contextlib.AsyncExitStack, simulation: LiveSimulation,
                           args: argparse.Namespace, seed: int) -> PartnerTraffic:
    from runtime.auth import dev_token  # the services' development key pair

    http = await stack.enter_async_context(httpx.AsyncClient(
        base_url=args.rewards_url, timeout=30,
        limits=httpx.Limits(max_connections=IN_FLIGHT)))
    traffic = PartnerTraffic(http, *load_key(args.partner_key_file),
                             lambda: [c.customer_id for c in simulation.customers],
                             lambda member: dev_token("app", member), random.Random(seed))
    stack.callback(asyncio.create_task(traffic.run(args.partner_rate, in_flight=IN_FLIGHT)).cancel)
    return traffic


async def _live(producer, simulation: LiveSimulation, rate: float, published: Counter[str],
                partners: PartnerTraffic | None, prefix: str) -> None:
    try:
        records = simulation.start(time.time())
        await publish(producer, _prefixed(records, prefix))
        published += _by_type(records)
        started = last_report = time.monotonic()
        purchases = 0
        while True:
            await asyncio.sleep(TICK_S)
            elapsed = time.monotonic() - started
            due = int(elapsed * rate) - purchases
            records = simulation.advance(time.time(), due)
            purchases += due
            await publish(producer, _prefixed(records, prefix))
            published += _by_type(records)
            if time.monotonic() - last_report >= REPORT_EVERY_S:
                last_report = time.monotonic()
                print(_summary(published, purchases / elapsed), flush=True)
                if partners is not None:
                    print(_partner_summary(partners.outcomes), flush=True)
    finally:
        # Ctrl-C: cancelled mid-publish; what was handed to aiokafka is flushed by stop().
        await producer.stop()
        print(_summary(published, None), flush=True)
        if partners is not None:
            print(_partner_summary(partners.outcomes), flush=True)


def _partner_summary(outcomes: Counter[str]) -> str:
    parts = ", ".join(f"{k} {n}" for k, n in sorted(outcomes.items()))
    return f"partners: {parts or 'nothing yet'}"


def _summary(published: Counter[str], purchases_per_s: float | None) -> str:
    rate = f" at {purchases_per_s:,.0f} purchases/s" if purchases_per_s else ""
    parts = ", ".join(f"{t} {n}" for t, n in sorted(published.items()))
    return f"published {sum(published.values())}{rate}: {parts}"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        servers = bootstrap_servers()
    except ConfigError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    if args.partner_rate > 0 and (args.count or args.partner_key_file is None):
        print("simulator: --partner-rate needs --rate and --partner-key-file", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"seed {seed}; Kafka at {servers}", flush=True)
    created = asyncio.run(ensure_topics(servers, [args.topic_prefix + t for t in TOPICS],
                                        args.partitions))
    if created:
        print(f"created topics {', '.join(created)} ({args.partitions} partitions)", flush=True)
    if args.count:
        counts = asyncio.run(run_batch(servers, args.count, args.customers, seed,
                                       args.topic_prefix))
        print(_summary(counts, None))
        return 0
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_live(servers, args.rate, args.customers, seed, args.month_seconds,
                             args, args.topic_prefix))
    return 0


if __name__ == "__main__":
    sys.exit(main())
