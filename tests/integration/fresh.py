"""Isolation for integration tests on the shared broker and database: each test gets its
own service schema, consumer group, input topic and member ids."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from runtime.kafka import ensure_topics
from runtime.service import Service


def customers(n: int) -> list[str]:
    base = uuid.uuid4().int % 10**9
    return [f"C{base + i:010d}" for i in range(n)]


@asynccontextmanager
async def fresh_service(build: Callable[[str, str], Service], prefix: str,
                        bootstrap: str) -> AsyncIterator[Service]:
    """A started service under a unique name, reading its own private input topic."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    topic = f"test.{name}.card-transactions"
    await ensure_topics(bootstrap, [topic], partitions=3)
    service = build(name, topic)
    service.input_topic = topic
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
