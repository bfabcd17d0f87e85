"""Sending records to Kafka: an idempotent producer, keyed by customer, CloudEvents headers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer

from contracts.envelope import EncodedEvent

BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP_SERVERS"
# Futures awaited together: bounds memory while letting aiokafka fill big batches.
IN_FLIGHT = 20_000


class ConfigError(RuntimeError):
    pass


def bootstrap_servers() -> str:
    servers = os.environ.get(BOOTSTRAP_ENV, "").strip()
    if not servers:
        raise ConfigError(f"{BOOTSTRAP_ENV} is not set (e.g. {BOOTSTRAP_ENV}=localhost:9092)")
    return servers


def make_producer(servers: str) -> AIOKafkaProducer:
    # Idempotence: a retried send is written once and per-partition order is kept.
    return AIOKafkaProducer(
        bootstrap_servers=servers,
        client_id="corebanking-simulator",
        enable_idempotence=True,
        acks="all",
        linger_ms=20,
        max_batch_size=256 * 1024,
    )


async def publish(producer: AIOKafkaProducer, events: Iterable[EncodedEvent]) -> int:
    """Send `events` in order and wait until the broker has acknowledged all of them."""
    sent = 0
    pending: list[asyncio.Future] = []
    for event in events:
        pending.append(
            await producer.send(event.topic, event.value, key=event.key, headers=event.headers)
        )
        if len(pending) >= IN_FLIGHT:
            await asyncio.gather(*pending)
            sent += len(pending)
            pending.clear()
    await asyncio.gather(*pending)
    return sent + len(pending)
