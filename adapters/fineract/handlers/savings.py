"""Savings account events (their summary balance, as of the business date) and deposits and
withdrawals (their running balance, as of the transaction date) -> each account's day-end
balances (sql/balances.py), from which months are published (months.py). Only clients'
accounts in the contract's currency count; a balance of a month already published is kept
but counted late. With FINERACT_CLOSE_WITH_LAST_SAVINGS_ACCOUNT, closing a client's last
account publishes corebanking.customer.closed."""

from __future__ import annotations

from datetime import date

from contracts.corebanking.v1 import CustomerClosed
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from .. import metrics
from ..domain.balances import month_of
from ..messages import SAVINGS_ACCOUNT, FineractEvent
from ..sql import balances as sql
from ..sql import clients as clients_sql
from ..sql import months as months_sql
from ..sql.balances import Account, DayEnd

#: The contract's one currency (AssetSnapshotTaken.currency).
CURRENCY = "CNY"
CLOSED_REASON = "all savings accounts closed in Fineract"


class OnSavings:
    def __init__(self, close_with_last_account: bool) -> None:
        self.close_with_last_account = close_with_last_account

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound[FineractEvent]]) -> None:
        accounts: list[Account] = []
        day_ends: list[DayEnd] = []
        closings: dict[int, Inbound] = {}
        for inbound in batch:
            event = inbound.event
            if event.dataschema == SAVINGS_ACCOUNT:
                account, day_end = _account(event)
                if account is not None:
                    accounts.append(account)
                    if account.closed_on is not None:
                        closings[account.account_id] = inbound
            else:
                day_end = _transaction(event)
            if day_end is not None:
                day_ends.append(day_end)
        if accounts:
            await sql.save_accounts(uow.conn, accounts)
        if day_ends:
            await sql.save_day_ends(uow.conn, day_ends)
            last_closed = await months_sql.last_closed(uow.conn)
            if last_closed is not None:
                metrics.LATE.inc(sum(month_of(d.day) <= last_closed for d in day_ends))
        if closings and self.close_with_last_account:
            await self._close_clients(uow, closings)

    async def _close_clients(self, uow: UnitOfWork, closings: dict[int, Inbound]) -> None:
        by_client = {inbound.event.data["clientId"]: inbound for inbound in closings.values()}
        for client_id, customer in await clients_sql.close_clients_without_open_accounts(
                uow.conn, sorted(by_client), max(i.event.created_at for i in closings.values())):
            cause = by_client[client_id]
            uow.emit(CustomerClosed(customer_id=customer, closed_at=cause.event.created_at,
                                    reason=CLOSED_REASON), cause)


def _account(event: FineractEvent) -> tuple[Account | None, DayEnd | None]:
    data = event.data
    if data.get("clientId") is None:
        metrics.ignored("group_account", event.type)
        return None, None
    if (data.get("currency") or {}).get("code") != CURRENCY:
        metrics.ignored("other_currency", event.type)
        return None, None
    closed_on = None
    if (data.get("status") or {}).get("closed"):
        closed = (data.get("timeline") or {}).get("closedOnDate")
        closed_on = date.fromisoformat(closed) if closed else event.business_date
    account = Account(data["id"], data["clientId"], CURRENCY, closed_on)
    balance = (data.get("summary") or {}).get("accountBalance")
    if balance is None:
        return account, None
    return account, DayEnd(data["id"], event.business_date, balance, event.created_at,
                           event.message_id)


def _transaction(event: FineractEvent) -> DayEnd | None:
    data = event.data
    reason = ("reversed" if data.get("reversed")
              else "other_currency" if (data.get("currency") or {}).get("code") != CURRENCY
              else "no_balance" if data.get("runningBalance") is None or not data.get("date")
              else None)
    if reason is not None:
        metrics.ignored(reason, event.type)
        return None
    return DayEnd(data["accountId"], date.fromisoformat(data["date"]), data["runningBalance"],
                  event.created_at, event.message_id)
