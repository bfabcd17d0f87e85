"""Isolation for integration tests on the shared broker and database: each test gets its
own service schemas, consumer groups, topics and member ids.

A service built with a topic prefix reads and writes `prefix + contract topic`, so services
started under one prefix form a private world: accounts' tier changes reach that test's
points service and nobody else's.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg

from runtime.kafka import delete_topics
from runtime.service import Service

Build = Callable[[str, str], Service]


def customers(n: int) -> list[str]:
    base = uuid.uuid4().int % 10**9
    return [f"C{base + i:010d}" for i in range(n)]


@asynccontextmanager
async def fresh_world(builds: dict[str, Build]) -> AsyncIterator[dict[str, Service]]:
    """Started services, one per `builds` entry, under unique names and one topic prefix."""
    world = uuid.uuid4().hex[:8]
    async with contextlib.AsyncExitStack() as stack:
        services = {}
        for prefix, build in builds.items():
            service = build(f"{prefix}_{world}", f"test.{world}.")
            # Callbacks run last-in first-out: the service stops, then its traces go.
            stack.push_async_callback(_remove, service)
            await service.start()  # creates the topics it reads and writes
            stack.push_async_callback(service.stop)
            services[prefix] = service
        yield services


async def _remove(service: Service) -> None:
    """A finished test's topics and schema: a broker holds every partition in memory (a full
    run creates thousands), and the database's catalogue grows with every schema."""
    settings = service.settings
    await delete_topics(settings.kafka_bootstrap_servers, service.topic_prefix)
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{service.schema}" CASCADE')
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_service(build: Build, prefix: str) -> AsyncIterator[Service]:
    """One started service in a private world of its own."""
    async with fresh_world({prefix: build}) as services:
        yield services[prefix]
