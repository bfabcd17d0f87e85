"""Waiting for a saga's outcome, whichever instance consumes the points service's answer.

The consumer that settles a redemption NOTIFYs its id in the same transaction; every
instance LISTENs on one connection and wakes the requests waiting for that id. A waiter
registers before it re-reads the status, so an outcome committed in between is not missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

import asyncpg

log = logging.getLogger(__name__)


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

    async def wait(self, redemption_id: str, timeout: float,
                   settled: Callable[[], Awaitable[bool]]) -> bool:
        """True once `settled()` holds, False after `timeout` seconds."""
        if self._conn is None or self._conn.is_closed():
            try:
                await self._connect()
            except Exception as exc:  # without a listener, fall back to the deadline re-check
                log.warning("settlement listener unavailable: %r", exc)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            future = loop.create_future()
            self._waiting[redemption_id].append(future)
            try:
                if await settled():
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    # Also re-check now and then: a lost listener connection must not turn
                    # every wait into a timeout.
                    await asyncio.wait_for(future, min(remaining, 0.5))
            finally:
                futures = self._waiting.get(redemption_id)
                if futures is not None:
                    with contextlib.suppress(ValueError):
                        futures.remove(future)
                    if not futures:
                        self._waiting.pop(redemption_id, None)
