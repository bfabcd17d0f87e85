"""Apache Fineract's external events as Fineract writes them, for tests and the benchmark:
payloads of its real schemas (adapters/fineract/schemas), each single-object encoded, inside
a single-object encoded `MessageV1`, keyed by the aggregate root id as a Java Long (a savings
transaction by its account)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import count

from adapters.fineract.avro import ENVELOPE, Schemas
from adapters.fineract.messages import (
    BULK,
    CLIENT,
    SAVINGS_ACCOUNT,
    SAVINGS_TRANSACTION,
    long_key,
)
from contracts.envelope import EncodedEvent

TOPIC = "external-events"
CNY = {"code": "CNY", "name": "Chinese Yuan", "decimalPlaces": 2, "inMultiplesOf": 0,
       "displaySymbol": "¥", "nameCode": "currency.CNY", "displayLabel": "Chinese Yuan (¥)"}


class Fineract:
    """One Fineract tenant's event stream: `message` numbers events and gives each a fresh
    idempotency key, as Fineract's external event table does."""

    def __init__(self, schemas: Schemas | None = None, tenant: str = "default") -> None:
        self.schemas = schemas or Schemas()
        self.tenant = tenant
        self.source = str(uuid.uuid4())  # changes on every Fineract restart
        self._ids = count(1)

    def message(self, type_: str, category: str, dataschema: str, data: dict, *,
                key: int, business_date: date, idempotency_key: str | None = None,
                created_at: datetime | None = None, tenant: str | None = None,
                raw_data: bytes | None = None) -> EncodedEvent:
        """`raw_data` replaces the encoded payload (tests of corrupt payloads)."""
        created = created_at or datetime.combine(business_date, datetime.min.time()) \
            + timedelta(hours=1)
        value = self.schemas.encode(ENVELOPE, {
            "id": next(self._ids), "source": self.source, "type": type_, "category": category,
            "createdAt": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "businessDate": business_date.isoformat(), "tenantId": tenant or self.tenant,
            "idempotencyKey": idempotency_key or str(uuid.uuid4()), "dataschema": dataschema,
            "data": self.schemas.encode(dataschema, data) if raw_data is None else raw_data})
        return EncodedEvent(topic=TOPIC, key=long_key(key), value=value, headers=[])

    def bulk(self, items: list[tuple[str, str, str, dict]], *, key: int,
             business_date: date, **kw) -> EncodedEvent:
        """A `BulkBusinessEvent` of (type, category, dataschema, data) items."""
        datas = [{"id": next(self._ids), "type": type_, "category": category,
                  "dataschema": dataschema, "data": self.schemas.encode(dataschema, data)}
                 for type_, category, dataschema, data in items]
        return self.message("BulkBusinessEvent", "Bulk", BULK, {"datas": datas}, key=key,
                            business_date=business_date, **kw)

    def client(self, type_: str, client: dict, business_date: date, **kw) -> EncodedEvent:
        return self.message(type_, "Client", CLIENT, client, key=client["id"],
                            business_date=business_date, **kw)

    def account(self, type_: str, account: dict, business_date: date, **kw) -> EncodedEvent:
        return self.message(type_, "Savings", SAVINGS_ACCOUNT, account, key=account["id"],
                            business_date=business_date, **kw)

    def transaction(self, type_: str, transaction: dict, business_date: date,
                    **kw) -> EncodedEvent:
        return self.message(type_, "Savings", SAVINGS_TRANSACTION, transaction,
                            key=transaction["accountId"], business_date=business_date, **kw)


def client(client_id: int, *, active: bool = True, firstname: str = "伟",
           lastname: str = "张", mobile: str | None = "139 1234 5678",
           birth: str | None = "1988-06-01", gender: str | None = "Male",
           office_id: int = 1) -> dict:
    return {"id": client_id, "accountNo": f"{client_id:09d}", "active": active,
            "status": {"id": 300 if active else 100, "code": "clientStatusType.active"
                       if active else "clientStatusType.pending",
                       "value": "Active" if active else "Pending"},
            "activationDate": "2026-01-02" if active else None, "firstname": firstname,
            "lastname": lastname, "displayName": f"{firstname} {lastname}",
            "mobileNo": mobile, "dateOfBirth": birth,
            "gender": {"id": 15, "name": gender, "active": True} if gender else None,
            "officeId": office_id, "officeName": "Head Office", "isStaff": False}


def savings_account(account_id: int, client_id: int | None, balance: Decimal | None, *,
                    closed_on: date | None = None, currency: dict = CNY) -> dict:
    return {"id": account_id, "accountNo": f"{account_id:09d}", "clientId": client_id,
            "status": {"id": 600 if closed_on else 300, "code": "savingsAccountStatusType."
                       + ("closed" if closed_on else "active"),
                       "value": "Closed" if closed_on else "Active", "active": not closed_on,
                       "closed": bool(closed_on)},
            "timeline": {"closedOnDate": closed_on.isoformat() if closed_on else None},
            "currency": currency,
            "summary": None if balance is None else {
                "currency": currency, "accountBalance": balance, "availableBalance": balance}}


def transaction(transaction_id: int, account_id: int, day: date, amount: Decimal,
                running_balance: Decimal, *, deposit: bool = True, reversed_: bool = False,
                currency: dict = CNY) -> dict:
    return {"id": transaction_id, "accountId": account_id, "accountNo": f"{account_id:09d}",
            "transactionType": {"id": 1 if deposit else 2, "code": "savingsAccountTransactionType."
                                + ("deposit" if deposit else "withdrawal"),
                                "value": "Deposit" if deposit else "Withdrawal",
                                "deposit": deposit, "withdrawal": not deposit},
            "date": day.isoformat(), "currency": currency, "amount": amount,
            "runningBalance": running_balance, "reversed": reversed_,
            "submittedOnDate": day.isoformat()}
