"""The care days job (every JOBS_POLL_SECONDS, beside scheduled.py's): on a festival's day
(Spring Festival, Mid-Autumn, Double Ninth for members aged 60 and over) and on each
member's membership anniversary, one greeting per member with marketing consent, from
CARE_DAYS_AT until quiet hours begin (domain/schedule.py `greeting_time`).

A festival greets every member with marketing consent: they are taken a batch per
transaction, each under a transaction-level advisory lock (one instance at a time); once
all have been looked at, later runs that day look only at contacts changed since that pass
began (a consent given later that day). For the Double Ninth each candidate's sealed birth
date is opened to know their age; nothing more is kept. A greeting's cause is its dedup
key (domain/care_days.py): re-running queues nothing twice."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime

from runtime.personal_data import Sealer
from runtime.unit_of_work import UnitOfWork

from ..clock import Clock
from ..domain.care_days import (
    ANNIVERSARY,
    SENIORS_ONLY,
    Festival,
    anniversary_intent,
    anniversary_keys,
    festival_intent,
    festivals_on,
    is_senior,
)
from ..domain.schedule import Rules, greeting_time, local_day
from ..personal import open_personal
from ..sql import care_days as sql
from .queue import Queue

log = logging.getLogger(__name__)


class CareDays:
    def __init__(self, *, unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
                 clock: Clock, queue: Queue, rules: Rules, sealer: Sealer, lock_name: str,
                 on_queued: Callable[[], object], batch_size: int = 1000) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock
        self._queue = queue
        self._rules = rules
        self._sealer = sealer
        self._lock = lock_name
        self._on_queued = on_queued
        self._batch = batch_size

    async def run_once(self) -> dict[str, int]:
        """Queue today's greetings; returns how many of each occasion due today this run
        queued ({} outside greeting time; an instance holding the lock queues the rest)."""
        now = self._clock.now()
        if not greeting_time(now, self._rules.care_days_at, self._rules):
            return {}
        today = local_day(now, self._rules)
        queued: dict[str, int] = {}
        for festival in festivals_on(today):
            queued[festival] = await self._festival(festival, today, now)
        queued[ANNIVERSARY] = await self._anniversaries(today, now)
        if any(queued.values()):
            log.info("care days: queued %s", queued)
            self._on_queued()
        return queued

    async def _festival(self, festival: Festival, today: date, now: datetime) -> int:
        queued, after, started, since = 0, "", None, None
        while True:
            async with self._unit_of_work() as uow:
                conn = uow.conn
                if not await self._locked(uow):
                    return queued
                if started is None:
                    started, since = await sql.festival_pass(conn, festival, today)
                rows = await sql.festival_members(conn, festival, today.year, since, after,
                                                  self._batch)
                greeted = [r["member_id"] for r in rows
                           if festival not in SENIORS_ONLY or self._senior(r, today)]
                queued += await self._queue.queue(
                    uow, [festival_intent(festival, m, today) for m in greeted], now)
                if len(rows) < self._batch:
                    await sql.festival_passed(conn, festival, today, started)
                    return queued
                after = rows[-1]["member_id"]

    def _senior(self, row: Mapping, today: date) -> bool:
        personal = open_personal(self._sealer, row["member_id"], row["personal_sealed"])
        return is_senior(personal.birth_date, today)

    async def _anniversaries(self, today: date, now: datetime) -> int:
        async with self._unit_of_work() as uow:
            if not await self._locked(uow):
                return 0
            rows = await sql.anniversary_members(uow.conn, ANNIVERSARY, today,
                                                 anniversary_keys(today))
            return await self._queue.queue(
                uow, [anniversary_intent(r["member_id"], r["enrolled_on"], today)
                      for r in rows], now)

    async def _locked(self, uow: UnitOfWork) -> bool:
        return await uow.conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))",
                                       self._lock)
