"""Month closing: each customer's average daily assets over a month whose end Fineract's
business date (or, if configured, the calendar) has passed -> corebanking.asset-snapshot.taken,
once per customer and month (its id derives from the two), then the month is recorded
closed. Months close in order, from the month of the first balance kept."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from zoneinfo import ZoneInfo

from contracts.corebanking.v1 import AssetSnapshotTaken
from runtime.unit_of_work import UnitOfWork

from ..domain.balances import average_daily_balance, month_bounds, month_of, months_from
from ..domain.clients import customer_id
from ..sql import balances as balances_sql
from ..sql import months as sql
from . import Clock, utc_now
from .savings import CURRENCY

SHANGHAI = ZoneInfo("Asia/Shanghai")


class CloseMonths:
    def __init__(self, clock: Clock = utc_now) -> None:
        self.clock = clock
        #: The first month not closed, as last read: nothing before it needs a look.
        self._open_from: str | None = None

    async def before(self, uow: UnitOfWork, month: str) -> list[str]:
        """Publish every month before `month` not published yet; returns them."""
        if self._open_from is not None and month <= self._open_from:
            return []
        await sql.lock(uow.conn)
        first = await sql.first_open_month(uow.conn)
        if first is None:
            return []
        self._open_from = first  # never ahead of the database, even if this rolls back
        months = months_from(first, month)
        for m in months:
            balances = await balances_sql.month_balances(uow.conn, *month_bounds(m))
            clients = sorted(set(balances.opening) | set(balances.inside))
            taken_at = self.clock()
            for client in clients:
                customer = customer_id(client)
                assets = average_daily_balance(m, balances.opening.get(client, {}),
                                               balances.inside.get(client, {}))
                uow.emit(AssetSnapshotTaken(customer_id=customer, month=m,
                                            average_daily_assets=assets, currency=CURRENCY,
                                            taken_at=taken_at),
                         key=(AssetSnapshotTaken.ce_type, customer, m))
            await sql.record_closed(uow.conn, m, len(clients))
        return months


class MonthEndJob:
    """The calendar's month end, for a Fineract that sends nothing after it: the months
    that ended more than `grace_days` ago (Asia/Shanghai) are published."""

    def __init__(self, unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
                 months: CloseMonths, grace_days: int, clock: Clock = utc_now) -> None:
        self.unit_of_work = unit_of_work
        self.months = months
        self.grace = timedelta(days=grace_days)
        self.clock = clock

    async def __call__(self) -> list[str]:
        today = self.clock().astimezone(SHANGHAI).date()
        async with self.unit_of_work() as uow:
            return await self.months.before(uow, month_of(today - self.grace))
