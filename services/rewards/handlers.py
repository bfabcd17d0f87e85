"""Batch handlers for what rewards consumes; they run inside the batch's one transaction
(runtime.consumer), after the inbox has dropped redelivered events.

- loyalty.members.v1 -> the members projection (tier, closed) that entitlements read.
- loyalty.points.v1 -> the saga's second half: a debit confirms a pending redemption, a
  rejection rejects it and gives back what it took from the allowance; a refund is noted.
  The answer of each settled redemption is stored for its Idempotency-Key and its id
  NOTIFYed, so the HTTP request waiting on any instance answers at once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import asyncpg

from contracts.accounts.v1 import MemberClosed, MemberEnrolled, MemberTierChanged
from contracts.points.v1 import PointsDebited, PointsDebitRejected, PointsRefunded
from contracts.rewards.v1 import RedemptionConfirmed, RedemptionRejected
from runtime.consumer import Inbound, Outcome, Outgoing

from . import rewards_sql as sql
from .redemptions import settled_answer

log = logging.getLogger(__name__)


async def project_members(conn: asyncpg.Connection, batch: list[Inbound]) -> Outcome:
    tiers: dict[str, tuple[str, datetime]] = {}
    closed: dict[str, datetime] = {}
    for inbound in batch:  # in partition order: the last word per member wins
        e = inbound.event
        if isinstance(e, MemberEnrolled):
            tiers[e.member_id] = (e.tier, e.enrolled_at)
        elif isinstance(e, MemberTierChanged):
            tiers[e.member_id] = (e.new_tier, e.changed_at)
        elif isinstance(e, MemberClosed):
            closed[e.member_id] = e.closed_at
    await sql.project_tiers(conn, tiers)
    await sql.project_closed(conn, closed)
    return Outcome()


class SettleRedemptions:
    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def __call__(self, conn: asyncpg.Connection, batch: list[Inbound]) -> Outcome:
        outcomes: dict[str, tuple[str, str | None]] = {}
        causes: dict[str, Inbound] = {}
        refunded: list[str] = []
        for inbound in batch:
            e = inbound.event
            if isinstance(e, PointsDebited):
                outcomes.setdefault(e.debit_id, ("confirmed", None))
            elif isinstance(e, PointsDebitRejected):
                outcomes.setdefault(e.debit_id, ("rejected", e.reason))
            elif isinstance(e, PointsRefunded):
                refunded.append(e.debit_id)
                continue
            causes.setdefault(e.debit_id, inbound)
        # Debits of other origins (not ours) match no pending redemption and change nothing.
        moved = await sql.settle(conn, [(k, s, r) for k, (s, r) in outcomes.items()])
        await sql.give_back(conn, [r for r in moved if r["status"] == "rejected"])
        if refunded:
            await sql.mark_refunded(conn, refunded)
        answers = []
        for row in moved:
            answer = settled_answer(row)
            answers.append((row["id"], answer.status, answer.content, answer.location))
        await sql.store_settled_answers(conn, answers)
        await sql.notify_settled(conn, self.channel, [r["id"] for r in moved])
        now = datetime.now(UTC)
        events = []
        for row in moved:
            if row["status"] == "confirmed":
                event = RedemptionConfirmed(
                    member_id=row["member_id"], redemption_id=row["id"],
                    partner_id=row["partner_id"], kind=row["kind"], item_id=row["item_id"],
                    title=row["title"], persons=row["persons"], points=row["points"],
                    valid_on=row["valid_on"], confirmed_at=row["settled_at"] or now)
            else:
                event = RedemptionRejected(member_id=row["member_id"], redemption_id=row["id"],
                                           reason=row["reason"],
                                           rejected_at=row["settled_at"] or now)
            events.append(Outgoing(event, cause=causes[row["id"]]))
        return Outcome(events=events)
