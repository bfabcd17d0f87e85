"""The expiry job (run periodically, app.py): expire lots past their date, announce what
expires in the next days, and hand refunds that waited too long for their purchase to
operations on the card-transaction dead-letter topic (they stay parked for it).

Bounded chunks, each its own unit of work: a chunk's lots, transfers and events commit
together, so a crash loses at most the chunk in flight and the next run carries on with
what is still due. Every instance may run the job at once: a chunk locks its members'
ledgers and skips those another transaction holds, and a last pass waits for those still
due, so each lot expires once; the events' ids come from their business keys. A chunk also
deletes its members' past lots left empty, so a run walks the lots that still hold points,
not every past year's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from contracts.points.v1 import PointsExpired, PointsExpiringSoon
from contracts.topics import CARD_TRANSACTIONS_V1
from runtime.unit_of_work import UnitOfWork

from ..sql import expiry, ledger, refunds

log = logging.getLogger(__name__)
#: Opens a unit of work of the service's (`service.unit_of_work`).
Units = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


@dataclass(frozen=True)
class JobReport:
    ran: bool
    expired_lots: int = 0
    announced: int = 0
    overdue_refunds: int = 0


@dataclass(frozen=True)
class ExpiryJob:
    announce_days: int = 30
    refund_wait_seconds: float = 86_400
    #: Lots (expiry), notices or refunds per transaction.
    chunk: int = 1_000

    async def run(self, units: Units, today: date, now: datetime | None = None) -> JobReport:
        """One run, a unit of work per chunk; `today` in the programme's time zone."""
        now = now or datetime.now(UTC)
        return JobReport(True, await self._expire_lots(units, today, now),
                         await self._announce(units, today, now),
                         await self._overdue_refunds(units))

    async def _expire_lots(self, units: Units, today: date, now: datetime) -> int:
        """Every lot past its day, a chunk of lots at a time: first the members nobody else
        is writing, then, waiting for their locks, those still due."""
        count = 0
        for wait in (False, True):
            after = expiry.START
            while True:
                async with units() as uow:
                    due, after = await expiry.due_lots(uow.conn, today, after, self.chunk)
                    if not due:
                        break
                    members = due if wait else await expiry.lock_free(uow.conn, due)
                    count += await _expire(uow, members, today, now)
        return count

    async def _announce(self, units: Units, today: date, now: datetime) -> int:
        count, until = 0, today + timedelta(days=self.announce_days)
        while True:
            async with units() as uow:
                rows = await expiry.announce(uow.conn, today, until, self.chunk)
                for row in rows:
                    uow.emit(PointsExpiringSoon(member_id=row["member_id"], points=row["points"],
                                                expires_on=row["expires_on"], announced_at=now),
                             key=("expiring-soon", row["member_id"], row["expires_on"]))
            count += len(rows)
            if not rows:  # none left, or the rest are being announced by another instance
                return count

    async def _overdue_refunds(self, units: Units) -> int:
        count = 0
        while True:
            async with units() as uow:
                rows = await refunds.take_overdue(uow.conn, self.refund_wait_seconds, self.chunk)
                for row in rows:
                    uow.dead_letter(refunds.stored_record(row),
                                    f"refund {row['refund_id']}: its purchase did not arrive"
                                    f" within {self.refund_wait_seconds:.0f}s; still applied"
                                    " if it comes", "purchase_not_found",
                                    topic=CARD_TRANSACTIONS_V1)
                    log.warning("refund %s waited since %s for its purchase; dead-lettered,"
                                " still parked", row["refund_id"], row["received_at"].isoformat())
            count += len(rows)
            if len(rows) < self.chunk:
                return count


async def _expire(uow: UnitOfWork, members: list[str], today: date, now: datetime) -> int:
    """The due lots of `members` (their ledgers locked, read as committed now)."""
    ledgers = await ledger.load(uow.conn, members, open_missing=False)
    earlier = await expiry.expiries_on(
        uow.conn, [(g.member_id, day) for g in ledgers.values() for day in g.lots if day < today],
        now)
    count = 0
    for account in ledgers.values():
        before = earlier.get(account.member_id, {})
        for day, points in account.expire_due(today, now, before):
            count += 1
            again = (before[day],) if before.get(day) else ()  # refilled, expiring again
            uow.emit(PointsExpired(member_id=account.member_id, points=points,
                                   expired_on=day, expired_at=now),
                     key=("expired", account.member_id, day, today, *again))
    await ledger.save(uow.conn, ledgers.values())
    await expiry.drop_empty(uow.conn, list(ledgers), today)
    return count
