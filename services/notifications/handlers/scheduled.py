"""The scheduled messages job (every JOBS_POLL_SECONDS): the daily points summaries and the
birthday greetings (from BIRTHDAY_AT until quiet hours; the other greetings are
care_days.py's). It runs in every instance but only one at a time does the work (a
transaction-level advisory lock), and re-running is harmless (messages are unique per cause
and template)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from runtime.unit_of_work import UnitOfWork

from ..clock import Clock
from ..domain.messages import birthday_intent, summary_intent
from ..domain.schedule import Rules, greeting_time, greets_feb_29, last_summary_day
from ..sql import contacts as contacts_sql
from ..sql import summaries as summaries_sql
from .queue import Queue

log = logging.getLogger(__name__)


class ScheduledMessages:
    def __init__(self, *, unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
                 clock: Clock, queue: Queue, rules: Rules, lock_name: str,
                 on_queued: Callable[[], object]) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock
        self._queue = queue
        self._rules = rules
        self._lock = lock_name
        self._on_queued = on_queued

    async def run_once(self) -> dict[str, int]:
        """Queue what is due now; returns how many messages each job queued (none of it
        when another instance holds the lock)."""
        now = self._clock.now()
        local = now.astimezone(self._rules.zone)
        last_day = last_summary_day(now, self._rules)
        async with self._unit_of_work() as uow:
            conn = uow.conn
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))",
                                       self._lock):
                return {}
            rows = await summaries_sql.due_summaries(conn, last_day)
            intents = [summary_intent(r["member_id"], r["day"], r["points"], r["purchases"])
                       for r in rows]
            # a summary joins the trace of the first purchase it counts
            summaries = await self._queue.queue(uow, intents, now, {
                i.cause_id: r["traceparent"] for i, r in zip(intents, rows, strict=True)})
            await summaries_sql.mark_summaries_queued(
                conn, [(r["member_id"], r["day"]) for r in rows])
            birthdays = 0
            if greeting_time(now, self._rules.birthday_at, self._rules):
                today = local.date()
                members = await contacts_sql.birthday_members(conn, today, greets_feb_29(today))
                birthdays = await self._queue.queue(
                    uow, [birthday_intent(m, today.year) for m in members], now)
        if summaries or birthdays:
            log.info("queued %d points summaries and %d birthday greetings",
                     summaries, birthdays)
            self._on_queued()
        return {"summaries": summaries, "birthdays": birthdays}

