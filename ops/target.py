"""Where the commands find the platform: DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS from the
environment (as the services read them), each service's schema (which is also its consumer
group) and the topic prefix of a copy of the platform (TOPIC_PREFIX), as the root command's
options set them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

import asyncpg
import typer
from rich.console import Console

from runtime.unit_of_work import UnitOfWork

T = TypeVar("T")
console = Console(highlight=False)
#: What a command says when something is off (stderr, so stdout stays the answer).
errors = Console(stderr=True, highlight=False)


@dataclass(frozen=True)
class Target:
    database_url: str
    kafka: str | None
    topic_prefix: str = ""
    #: Service name -> its schema (and consumer group).
    schemas: dict[str, str] = field(default_factory=dict)

    def schema(self, service: str) -> str:
        return self.schemas.get(service, service)

    def topic(self, contract_topic: str) -> str:
        return self.topic_prefix + contract_topic

    def bootstrap(self) -> str:
        if not self.kafka:
            fail("KAFKA_BOOTSTRAP_SERVERS is not set")
        return self.kafka

    @asynccontextmanager
    async def connect(self, service: str | None = None) -> AsyncIterator[asyncpg.Connection]:
        """A connection on a service's schema; without a service, on none (queries name the
        schemas: only operations read across services)."""
        settings = {"search_path": self.schema(service)} if service else {}
        conn = await asyncpg.connect(self.database_url, server_settings={
            **settings, "application_name": "loyalty-ops"})
        try:
            yield conn
        finally:
            await conn.close()

    @asynccontextmanager
    async def unit_of_work(self, service: str) -> AsyncIterator[UnitOfWork]:
        """A transaction of the service's, as its own code opens one: what it emits goes to
        its outbox at commit, for its relay to publish."""
        async with self.connect(service) as conn, conn.transaction():
            uow = UnitOfWork(conn, service=self.schema(service))
            yield uow
            await uow.flush()


def from_environment(topic_prefix: str | None, schemas: dict[str, str | None]) -> Target:
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        fail("DATABASE_URL is not set")
    return Target(database_url, os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
                  os.environ.get("TOPIC_PREFIX", "") if topic_prefix is None else topic_prefix,
                  {name: schema for name, schema in schemas.items() if schema})


def target(ctx: typer.Context) -> Target:
    return ctx.find_root().obj()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def chosen(ctx: typer.Context, ids: str | None, older: float, what: str,
           found: Callable[[Target, float, list[str] | None], Awaitable[list[str]]]
           ) -> tuple[Target, list[str]]:
    """The ids of the `what` a command is to act on: named (`--ids`), waiting longer than
    `older` seconds, or both; `found` looks them up. One of the two must be given."""
    t = target(ctx)
    if ids is None and not older:
        fail(f"say which {what}: --ids and/or --older")
    return t, run(found(t, older, split(ids) if ids else None))


async def in_unit(t: Target, service: str,
                  action: Callable[[UnitOfWork, list[str]], Awaitable[list[str]]],
                  ids: list[str]) -> list[str]:
    """`action` on `ids` in one unit of work of `service`'s."""
    if not ids:
        return []
    async with t.unit_of_work(service) as uow:
        return await action(uow, ids)


def split(value: str | None) -> list[str]:
    """A comma-separated option as a list."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]
