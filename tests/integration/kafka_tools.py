"""Small helpers for tests and benchmarks that talk to the real broker directly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient

from contracts.envelope import EncodedEvent
from simulator.publisher import make_producer, publish


async def produce(bootstrap: str, topic: str, events: Iterable[EncodedEvent]) -> int:
    """Publish to `topic` (not the event's own topic: tests use private topics)."""
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        return await publish(producer, (replace(e, topic=topic) for e in events))
    finally:
        await producer.stop()


async def produce_to(service, events: Iterable[EncodedEvent]) -> int:
    """Publish events to their contract topics as `service` names them (its test prefix)."""
    by_topic: dict[str, list[EncodedEvent]] = {}
    for event in events:
        by_topic.setdefault(event.topic, []).append(event)
    bootstrap = service.settings.kafka_bootstrap_servers
    return sum([await produce(bootstrap, service.topic(topic), batch)
                for topic, batch in by_topic.items()])


async def read_topic(bootstrap: str, topic: str, *,
                     until: Callable[[list[ConsumerRecord]], bool],
                     keep: Callable[[ConsumerRecord], bool] = lambda r: True,
                     timeout: float = 30.0, settle: float = 0.0) -> list[ConsumerRecord]:
    """Read `topic` from the beginning, keeping matching records, until `until` holds
    (then `settle` seconds more, to catch records that should NOT arrive) or timeout."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    kept: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout
        settled_at: float | None = None
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            kept.extend(r for records in batches.values() for r in records if keep(r))
            if settled_at is None and until(kept):
                settled_at = time.monotonic() + settle
            if settled_at is not None and time.monotonic() >= settled_at:
                return kept
        raise TimeoutError(f"{topic}: condition not met; {len(kept)} records kept")
    finally:
        await consumer.stop()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0,
                     what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached in {timeout}s")
        await asyncio.sleep(0.1)


async def committed_offsets(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}
    finally:
        await admin.close()
