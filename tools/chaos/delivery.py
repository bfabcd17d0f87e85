"""Giving a world its input, and waiting until the world has applied everything it was
given: every consumer group at the end of what it consumes and every outbox empty (three
looks in a row), and no message left due but unsent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace

import asyncpg

from contracts.envelope import EncodedEvent
from simulator.publisher import make_producer
from simulator.publisher import publish as send

from . import state
from .checks import Difference
from .kafka import Broker
from .world import SERVICES, World

log = logging.getLogger("chaos")


async def publish(bootstrap: str, world: World, records: list[EncodedEvent]) -> None:
    """Sent and acknowledged (a fresh producer each time: the broker may have restarted)."""
    while True:
        producer = make_producer(bootstrap)
        try:
            await producer.start()
            await asyncio.wait_for(send(producer, (replace(r, topic=world.topic(r.topic))
                                                      for r in records)), 300)
            return
        except Exception as exc:  # sent again: the same ce_ids, which the inboxes absorb
            log.warning("publishing failed (%r); again", exc)
            await asyncio.sleep(1)
        finally:
            with contextlib.suppress(Exception):
                await producer.stop()


async def settle(world: World, broker: Broker, database_url: str, timeout: float
                  ) -> list[Difference]:
    """Until every service has consumed all it was given and published all it made, three
    looks in a row; what is left after `timeout` is a stall."""
    deadline = time.monotonic() + timeout
    quiet, last = 0, ""
    while time.monotonic() < deadline:
        lags = await broker.lags(world)
        outbox = await state.outbox_rows(world, database_url)
        if lags is not None and outbox is not None:
            busy = {s: (lags[s], outbox[s]) for s in SERVICES if lags[s] or outbox[s]}
            quiet = 0 if busy else quiet + 1
            last = ", ".join(f"{s}: lag {lag}, outbox {rows}" for s, (lag, rows) in busy.items())
            if quiet == 3:
                return []
        await asyncio.sleep(0.5)
    return [Difference(f"{world.label}: stalled", f"not settled after {timeout:.0f}s: {last}")]


async def unsent_messages(world: World, database_url: str, wait: float = 90.0) -> list[str]:
    """Messages due but still queued, or still being sent, after `wait` (the sender
    stalled; a send a kill interrupted is settled once its lease, 30 s, has run out)."""
    deadline = time.monotonic() + wait
    while True:
        conn = await asyncpg.connect(database_url)
        try:
            due = await conn.fetchval(
                f'SELECT count(*) FROM "{world.schema("notifications")}".messages'
                " WHERE state = 'queued' AND not_before <= now() OR state = 'sending'")
        finally:
            await conn.close()
        if not due:
            return []
        if time.monotonic() > deadline:
            return [f"{due} messages due but not sent (or settled) after {wait:.0f}s"]
        await asyncio.sleep(1)
