"""Redemptions from rewards: a points-paid redemption asks for a debit, which is made when
the member's unexpired points cover it and rejected otherwise; a cancelled redemption gets
its points back, into the lots they came from.

One decision per redemption id, whatever is re-sent. The member's balance row is locked
for the batch (sql/ledger.py), so however many debits arrive at once, from however many
instances, none overdraws.
"""

from __future__ import annotations

import logging
from datetime import date

import asyncpg

from contracts.points.v1 import PointsDebited, PointsDebitRejected, PointsRefunded
from contracts.rewards.v1 import RedemptionCancelled, RedemptionRequested
from runtime.consumer import Inbound, Outcome, Outgoing

from ..domain.ledger import MemberLedger
from ..domain.rules import EarningRules
from ..sql import ledger
from ..sql import redemptions as sql

log = logging.getLogger(__name__)


class OnRedemptions:
    def __init__(self, rules: EarningRules) -> None:
        self.rules = rules  # for the programme's time zone: what "today" is for expiry

    async def __call__(self, conn: asyncpg.Connection, batch: list[Inbound]) -> Outcome:
        requests = [i for i in batch
                    if isinstance(i.event, RedemptionRequested) and i.event.points > 0]
        cancels = [i for i in batch
                   if isinstance(i.event, RedemptionCancelled) and i.event.points_to_refund > 0]
        if not requests and not cancels:
            return Outcome()
        ids = [i.event.redemption_id for i in requests + cancels]
        ledgers = await ledger.load(conn, [i.event.member_id for i in requests + cancels],
                                    open_missing=False)
        decided = {k: dict(v) for k, v in (await sql.decided(conn, ids)).items()}
        outcome = Outcome()
        outcome.events += await self._debit(conn, requests, ledgers, decided)
        outcome.events += await self._refund(conn, cancels, ledgers, decided)
        await ledger.save(conn, ledgers.values())
        return outcome

    async def _debit(self, conn, requests: list[Inbound], ledgers: dict[str, MemberLedger],
                     decided: dict[str, dict]) -> list[Outgoing]:
        rows, taken, events = [], [], []
        for inbound in requests:
            request: RedemptionRequested = inbound.event
            if request.redemption_id in decided:
                log.warning("redemption %s already decided; event %s ignored",
                            request.redemption_id, inbound.envelope.id)
                continue
            account = ledgers.get(request.member_id)
            today = request.requested_at.astimezone(self.rules.zone).date()
            available = account.available(today) if account else 0
            reason = ("unknown_member" if account is None else
                      "member_closed" if account.closed else
                      "insufficient_points" if available < request.points else None)
            decided[request.redemption_id] = {"outcome": "rejected" if reason else "debited"}
            rows.append((request.redemption_id, request.member_id, request.points,
                         "rejected" if reason else "debited", reason))
            if reason:
                events.append(Outgoing(PointsDebitRejected(
                    member_id=request.member_id, debit_id=request.redemption_id,
                    points_requested=request.points, reason=reason,
                    available=account.balance if account else 0,
                    rejected_at=request.requested_at), cause=inbound))
                continue
            lots = account.debit(request.redemption_id, request.points, today,
                                 request.requested_at)
            decided[request.redemption_id]["taken"] = lots
            taken += [(request.redemption_id, request.member_id, day, points)
                      for day, points in lots.items()]
            events.append(Outgoing(PointsDebited(
                member_id=request.member_id, debit_id=request.redemption_id,
                points=request.points, balance_after=account.balance,
                debited_at=request.requested_at), cause=inbound))
        await sql.record_decisions(conn, rows, taken)
        return events

    async def _refund(self, conn, cancels: list[Inbound], ledgers: dict[str, MemberLedger],
                      decided: dict[str, dict]) -> list[Outgoing]:
        if not cancels:
            return []
        stored = await sql.lots_taken(conn, [i.event.redemption_id for i in cancels])
        refunded, events = [], []
        for inbound in cancels:
            cancel: RedemptionCancelled = inbound.event
            debit = decided.get(cancel.redemption_id)
            if debit is None or debit["outcome"] != "debited" or debit.get("refunded_at"):
                log.info("redemption %s cancelled with nothing to refund (%s)",
                         cancel.redemption_id,
                         "no debit" if debit is None else debit.get("refunded_at") or "rejected")
                continue
            lots: dict[date, int] = debit.get("taken") or stored[cancel.redemption_id]
            points = ledgers[cancel.member_id].refund(cancel.redemption_id, lots,
                                                      cancel.cancelled_at)
            debit["refunded_at"] = cancel.cancelled_at
            refunded.append(cancel.redemption_id)
            events.append(Outgoing(PointsRefunded(
                member_id=cancel.member_id, debit_id=cancel.redemption_id, points=points,
                refunded_at=cancel.cancelled_at), cause=inbound))
        await sql.mark_refunded(conn, refunded)
        return events
