"""Sending records to Kafka: an idempotent producer, keyed by customer, CloudEvents headers."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

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


async def ensure_topics(servers: str, topics: Iterable[str], partitions: int) -> list[str]:
    """Create the simulator's topics the broker lacks (it does not auto-create them, and
    aiokafka would retry each send until it timed out); returns those it created. Core
    banking owns these streams, so creating them is the producer's job, not a consumer's."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, client_id="corebanking-simulator")
    await admin.start()
    try:
        missing = sorted(set(topics) - set(await admin.list_topics()))
        for topic in missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # a consumer got there first
                await admin.create_topics([NewTopic(topic, partitions, replication_factor=1)])
        return missing
    finally:
        await admin.close()


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
