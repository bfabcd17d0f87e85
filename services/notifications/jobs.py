"""Scheduled jobs: the daily points summaries and the birthday greetings. They run in every
instance but only one at a time does the work (a transaction-level advisory lock), and
re-running is harmless (messages are unique per cause and template)."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import asyncpg

from runtime.periodic import repeat

from . import messages_sql as sql
from .clock import Clock
from .domain.messages import birthday_intent, summary_intent
from .domain.schedule import Rules
from .queueing import Queue

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self, *, pool: asyncpg.Pool, clock: Clock, queue: Queue, rules: Rules,
                 lock_name: str, poll_seconds: float = 30.0, on_queued=None) -> None:
        self._pool = pool
        self._clock = clock
        self._queue = queue
        self._rules = rules
        self._lock = lock_name
        self._poll = poll_seconds
        self._on_queued = on_queued or (lambda: None)

    async def run(self) -> None:
        await repeat(self.run_once, self._poll, "scheduled jobs")

    async def run_once(self) -> dict[str, int]:
        """Queue what is due now; returns how many messages each job queued (None of it
        when another instance holds the lock)."""
        now = self._clock.now()
        local = now.astimezone(self._rules.zone)
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))",
                                       self._lock):
                return {}
            last_day = local.date() if local.time() >= self._rules.summary_at else (
                local.date() - timedelta(days=1))
            rows = await sql.due_summaries(conn, last_day)
            summaries = await self._queue.queue(conn, [
                summary_intent(r["member_id"], r["day"], r["points"], r["purchases"])
                for r in rows], now)
            await sql.mark_summaries_queued(conn, [(r["member_id"], r["day"]) for r in rows])
            birthdays = 0
            if local.time() >= self._rules.birthday_at:
                today = local.date()
                members = await sql.birthday_members(conn, today, _greets_feb_29(today))
                birthdays = await self._queue.queue(
                    conn, [birthday_intent(m, today.year) for m in members], now)
        if summaries or birthdays:
            log.info("queued %d points summaries and %d birthday greetings",
                     summaries, birthdays)
            self._on_queued()
        return {"summaries": summaries, "birthdays": birthdays}


def _greets_feb_29(today: date) -> bool:
    """On 28 February of a year without 29 February, those born on it are greeted too."""
    if (today.month, today.day) != (2, 28):
        return False
    try:
        date(today.year, 2, 29)
    except ValueError:
        return True
    return False
