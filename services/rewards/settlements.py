"""Settlements of points-paid redemptions, as the HTTP requests waiting for them hear of
them, whichever instance consumes the points service's answer.

The consumer that settles a redemption (handlers/saga.py) stores the answer for the
request's Idempotency-Key and NOTIFYs the redemption's id in the same transaction; every
instance LISTENs on one connection and wakes the requests waiting for that id, which then
read the stored answer (one query). The request that records the redemption registers
before its commit; a replay registers before it first reads; so a settlement committed in
between is not missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

log = logging.getLogger(__name__)
T = TypeVar("T")


class Settlements:
    def __init__(self, database_url: str, schema: str) -> None:
        self._database_url = database_url
        self._schema = schema
        self.channel = f"{schema}_settled"
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._waiting: dict[str, list[asyncio.Future]] = defaultdict(list)

    async def start(self) -> None:
        await self._connect()

    async def stop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)
            self._conn = None

    async def _connect(self) -> None:
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return
            conn = await asyncpg.connect(self._database_url, server_settings={
                "application_name": f"{self._schema}-settlements"})
            await conn.add_listener(self.channel, self._notified)
            self._conn = conn

    def _notified(self, _conn: object, _pid: int, _channel: str, redemption_id: str) -> None:
        for future in self._waiting.pop(redemption_id, ()):
            if not future.done():
                future.set_result(None)

    def expect(self, redemption_id: str) -> asyncio.Future:
        """Register for the settlement of a redemption about to be committed, so that even
        a settlement faster than the caller's next step is not missed; then `wait`."""
        future = asyncio.get_running_loop().create_future()
        self._waiting[redemption_id].append(future)
        return future

    def forget(self, redemption_id: str, future: asyncio.Future) -> None:
        futures = self._waiting.get(redemption_id)
        if futures is not None:
            with contextlib.suppress(ValueError):
                futures.remove(future)
            if not futures:
                self._waiting.pop(redemption_id, None)

    async def wait(self, redemption_id: str, timeout: float,
                   answered: Callable[[], Awaitable[T | None]],
                   expected: asyncio.Future | None = None) -> T | None:
        """What `answered()` gives once it is not None (checked when notified, and every
        0.5 s in case the listener was lost), or None after `timeout` seconds. `expected`
        (from `expect`, registered before the commit) spares the first check."""
        if self._conn is None or self._conn.is_closed():
            try:
                await self._connect()
            except Exception as exc:  # without a listener, fall back to the periodic check
                log.warning("settlement listener unavailable: %r", exc)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        future = expected
        check = future is None
        while True:
            if future is None:
                future = self.expect(redemption_id)
            try:
                if check and (result := await answered()) is not None:
                    return result
                check = True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(future, min(remaining, 0.5))
            finally:
                self.forget(redemption_id, future)
                future = None
