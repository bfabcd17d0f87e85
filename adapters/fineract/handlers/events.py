"""Fineract's external events, a batch at a time: client events to clients.py, savings
account and transaction events to savings.py, then the months that the latest business date
in the batch (less FINERACT_MONTH_CLOSE_LAG_DAYS) has left behind to months.py."""

from __future__ import annotations

from datetime import timedelta

from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.balances import month_of
from ..messages import CLIENT, FineractEvent
from .clients import OnClients
from .months import CloseMonths
from .savings import OnSavings


class OnFineractEvents:
    """Fineract's external events (Avro): clients become customers, savings balances
    become monthly asset snapshots."""

    def __init__(self, clients: OnClients, savings: OnSavings, months: CloseMonths,
                 lag_days: int) -> None:
        self.clients = clients
        self.savings = savings
        self.months = months
        self.lag = timedelta(days=lag_days)

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound[FineractEvent]]) -> None:
        clients = [i for i in batch if i.event.dataschema == CLIENT]
        savings = [i for i in batch if i.event.dataschema != CLIENT]
        if clients:
            await self.clients(uow, clients)
        if savings:
            await self.savings(uow, savings)
        latest = max(i.event.business_date for i in batch)
        await self.months.before(uow, month_of(latest - self.lag))
