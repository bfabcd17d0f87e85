"""Redemptions from rewards -> debits: a points-paid redemption asks for a debit, which the
book (domain/debits.py) makes or rejects; a cancelled redemption gets its points back, and
so does a debit rewards asks back because it landed too late (redemption.refund-requested);
either is forfeited at once if the member has closed.

The member's balance row is locked for the batch (sql/ledger.py), so however many debits
arrive at once, from however many instances, none overdraws.
"""

from __future__ import annotations

import logging

from contracts.points.v1 import (
    PointsDebited,
    PointsDebitRejected,
    PointsForfeited,
    PointsRefunded,
)
from contracts.rewards.v1 import (
    RedemptionCancelled,
    RedemptionRefundRequested,
    RedemptionRequested,
)
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.debits import DebitBook
from ..domain.rules import EarningRules
from ..sql import ledger
from ..sql import redemptions as sql

log = logging.getLogger(__name__)


class OnRedemptions:
    """Debits points for points-paid redemptions (or rejects them) and refunds cancelled ones."""

    def __init__(self, rules: EarningRules) -> None:
        self.zone = rules.zone  # what "today" is for expiry

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        requests = [i for i in batch
                    if isinstance(i.event, RedemptionRequested) and i.event.points > 0]
        cancels = [i for i in batch
                   if isinstance(i.event, RedemptionCancelled) and i.event.points_to_refund > 0
                   or isinstance(i.event, RedemptionRefundRequested)]
        if not requests and not cancels:
            return
        ledgers = await ledger.load(uow.conn, [i.event.member_id for i in requests + cancels],
                                    open_missing=False)
        book = DebitBook(ledgers, await sql.decided(
            uow.conn, [i.event.redemption_id for i in requests + cancels],
            lots_of=[i.event.redemption_id for i in cancels]))
        for inbound in requests:
            self._debit(uow, book, inbound)
        for inbound in cancels:
            cancel: RedemptionCancelled | RedemptionRefundRequested = inbound.event
            at = (cancel.cancelled_at if isinstance(cancel, RedemptionCancelled)
                  else cancel.requested_at)
            points = book.cancel(cancel.redemption_id, cancel.member_id, at)
            if points is None:
                log.info("redemption %s cancelled with nothing to refund (%s)",
                         cancel.redemption_id, book.state(cancel.redemption_id))
                continue
            uow.emit(PointsRefunded(
                member_id=cancel.member_id, debit_id=cancel.redemption_id, points=points,
                refunded_at=at), inbound)
            if forfeited := book.forfeited.get(cancel.redemption_id):  # the member left
                uow.emit(PointsForfeited(
                    member_id=cancel.member_id, points=forfeited, reason="member_closed",
                    forfeited_at=at), inbound)
        await sql.save(uow.conn, book)
        await ledger.save(uow.conn, ledgers.values())

    def _debit(self, uow: UnitOfWork, book: DebitBook, inbound: Inbound) -> None:
        request: RedemptionRequested = inbound.event
        decision = book.request(request.redemption_id, request.member_id, request.points,
                                request.requested_at.astimezone(self.zone).date(),
                                request.requested_at)
        if decision is None:
            log.warning("redemption %s already decided; event %s ignored",
                        request.redemption_id, inbound.envelope.id)
        elif decision.debit.reason:
            uow.emit(PointsDebitRejected(
                member_id=request.member_id, debit_id=request.redemption_id,
                points_requested=request.points, reason=decision.debit.reason,
                available=decision.balance, rejected_at=request.requested_at), inbound)
        else:
            uow.emit(PointsDebited(
                member_id=request.member_id, debit_id=request.redemption_id,
                points=request.points, balance_after=decision.balance,
                debited_at=request.requested_at), inbound)
