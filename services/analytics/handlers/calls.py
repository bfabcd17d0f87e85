"""The monthly job: once a month has ended (from a configured day of the next, when its
asset snapshots are in), the members to call for it (domain/calls.py) are kept and
published as analytics.call-suggested, once per member and month (the table `calls` and
the event id both say so)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from contracts.analytics.v1 import CallSuggested
from runtime.unit_of_work import UnitOfWork

from ..domain import months as m
from ..domain.model import Model
from ..sql import calls as sql
from .figures import load_figures

log = logging.getLogger(__name__)


class MonthlyCalls:
    def __init__(self, model: Model, cities: Mapping[str, str], report_months: int,
                 from_day: int = 1) -> None:
        self.model = model
        self.cities = cities
        self.report_months = report_months
        #: Not before this day of the month: last month's asset snapshots come after it.
        self.from_day = from_day

    async def run(self, unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
                  now: datetime) -> int:
        """Works out the calls of the month before `now`'s (Asia/Shanghai) if not done and
        `from_day` has come; returns how many were published."""
        if now.astimezone(m.ZONE).day < self.from_day:
            return 0
        month = m.add(m.month_of(now), -1)
        async with unit_of_work() as uow:
            # One job at a time per month (instances may run it together).
            await uow.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                                   f"analytics.calls.{month}")
            if await sql.done(uow.conn, month):
                return 0
            figures = await load_figures(uow.conn, month, self.report_months,
                                         model=self.model, cities=self.cities)
            new = await sql.record(uow.conn, month, figures.calls)
            for call in figures.calls:
                if call.member_id not in new:
                    continue
                uow.emit(CallSuggested(
                    member_id=call.member_id, month=month, tier=call.tier,
                    reasons=call.reason.split(","), stage=call.stage,
                    lifetime_value=call.lifetime_value,
                    suggested_at=now), key=("call-suggested", call.member_id, month))
        if new:
            log.info("%s: %d calls suggested", month, len(new))
        return len(new)
