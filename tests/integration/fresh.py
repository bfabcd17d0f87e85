"""Isolation for integration tests on the shared broker and database: each test gets its
own service schema, consumer group, input topics and member ids."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from runtime.service import Service


def customers(n: int) -> list[str]:
    base = uuid.uuid4().int % 10**9
    return [f"C{base + i:010d}" for i in range(n)]


@asynccontextmanager
async def fresh_service(build: Callable[[str, str], Service],
                        prefix: str) -> AsyncIterator[Service]:
    """A started service under a unique name, reading private copies of its input topics
    (`service.topic(name)`); its outputs go to the shared topics, keyed by fresh members."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    service = build(name, f"test.{name}.")
    await service.start()  # creates the input topics it subscribes to
    try:
        yield service
    finally:
        await service.stop()
