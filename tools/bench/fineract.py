"""`python -m tools.bench.fineract [--messages 100000]`: messages per second through the
Fineract adapter, from Fineract's Avro on Kafka to core-banking events in the outbox and on
their topics.

Needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL (`eval "$(scripts/infra env)"`). It encodes
the messages as Fineract writes them (simulator/fineract.py: single-object encoding, Long
keys) for one client in fifty messages, each with one savings account, the rest deposits
and withdrawals over January, and a last deposit dated February that publishes January's
snapshots; publishes them all (not timed), then starts the adapter on the backlog and
measures until every message is consumed and the outbox drained. Private schema and topics
each run, removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import time
import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal

import asyncpg

from adapters.fineract.app import build
from adapters.fineract.metrics import PUBLISHED
from runtime.kafka import delete_topics
from runtime.relay import wait_until_drained
from simulator.fineract import TOPIC, Fineract, client, savings_account, transaction
from simulator.publisher import make_producer, publish


def messages(n: int, seed: int = 19) -> list:
    """`n` Fineract messages: clients and accounts, then their January movements."""
    rng, f = random.Random(seed), Fineract()
    clients = max(1, n // 50)
    out, balances = [], {}
    for c in range(1, clients + 1):
        out.append(f.client("ClientCreateBusinessEvent", client(c), date(2026, 1, 1)))
        balances[c] = Decimal(rng.randrange(0, 200_000))
        out.append(f.account("SavingsActivateBusinessEvent",
                             savings_account(1000 + c, c, balances[c]), date(2026, 1, 1)))
    movements = n - len(out) - 1
    for t in range(movements):
        c = rng.randrange(1, clients + 1)
        day = date(2026, 1, 1 + t * 31 // max(movements, 1))
        amount = Decimal(rng.randrange(1, 5_000))
        deposit = balances[c] < amount or rng.random() < 0.6
        balances[c] += amount if deposit else -amount
        out.append(f.transaction(
            "SavingsDepositBusinessEvent" if deposit else "SavingsWithdrawalBusinessEvent",
            transaction(t + 1, 1000 + c, day, amount, balances[c], deposit=deposit), day))
    out.append(f.transaction("SavingsDepositBusinessEvent", transaction(
        movements + 1, 1001, date(2026, 2, 2), Decimal(1), balances[1] + 1), date(2026, 2, 2)))
    return out


async def run(n: int) -> float:
    run_id = uuid.uuid4().hex[:8]
    service = build(f"bench_fineract_{run_id}", f"bench.{run_id}.")
    bootstrap = service.settings.kafka_bootstrap_servers
    encoded = messages(n)
    producer = make_producer(bootstrap)
    consumed: list[int] = []
    service.fineract.after_commit.append(
        lambda r: consumed.append(r.applied + r.duplicates + r.ignored + r.dead_lettered))
    try:
        await service.start()  # creates the topics; nothing to consume yet
        await service.stop()
        await producer.start()
        try:
            await publish(producer, (replace(e, topic=service.topic(TOPIC)) for e in encoded))
        finally:
            await producer.stop()
        consumed.clear()
        service = build(service.name, service.topic_prefix)
        service.fineract.after_commit.append(
            lambda r: consumed.append(r.applied + r.duplicates + r.ignored + r.dead_lettered))
        started = time.perf_counter()
        await service.start()
        while sum(consumed) < n:
            await asyncio.sleep(0.05)
        await wait_until_drained(service.pool, timeout=120)
        elapsed = time.perf_counter() - started
        await service.stop()
        return n / elapsed
    finally:
        await delete_topics(bootstrap, service.topic_prefix)
        conn = await asyncpg.connect(service.settings.database_url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{service.schema}" CASCADE')
        finally:
            await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rate = asyncio.run(run(args.messages))
    print(f"{args.messages} Fineract messages: {rate:,.0f} messages/s")
    for metric in PUBLISHED.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                print(f"  published {sample.labels['type']}: {sample.value:.0f}")


if __name__ == "__main__":
    main()
