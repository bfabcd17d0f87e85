"""A job: points-paid redemptions still waiting for the points service after the configured
bound (SAGA_TIMEOUT_SECONDS) are rejected `timed_out`, in batches of a bounded size, each
its own unit of work: usage given back, the answer for the request's key stored (in place
of a 202 too), the waiting request woken, `redemption.rejected` emitted. A debit that
lands afterwards is refunded (handlers/saga.py). Several instances share the work: each
batch skips the redemptions another one holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from runtime.unit_of_work import unit_of_work

from ..domain.redemptions import timed_out
from ..sql import redemptions as sql
from .saga import apply_outcomes


def check_every(bound_seconds: float) -> float:
    """How often the job looks: a few times per bound, at most every 30 s."""
    return max(0.5, min(30.0, bound_seconds / 4))


class TimeOuts:
    def __init__(self, *, service: str, pool: asyncpg.Pool, channel: str,
                 bound_seconds: float, batch: int) -> None:
        self.service = service
        self.pool = pool
        self.channel = channel  # NOTIFY channel of the settlements listener
        self.bound = timedelta(seconds=bound_seconds)
        self.batch = batch

    async def __call__(self) -> int:
        """Time out what is due, batch after batch; how many timed out."""
        total = 0
        while True:
            async with unit_of_work(self.pool, service=self.service) as uow:
                due = await sql.pending_since(uow.conn, self.bound.total_seconds(), self.batch)
                outcomes = timed_out(due, datetime.now(UTC), self.bound)
                moved = await apply_outcomes(uow, self.channel, outcomes, over_202=True)
            total += len(moved)
            if len(due) < self.batch or not moved:  # none left, or none due by our clock
                return total
