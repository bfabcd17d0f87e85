"""Batch handlers: events in, pure rules, set-wise writes, events out. They run inside the
batch's one transaction (runtime.consumer), after the inbox has dropped redelivered events.

Reading tiers and bonus usage without row locks is safe: one member's events share a
partition, and a batch overlapping another instance's uncommitted one waits at the inbox.
"""

from __future__ import annotations

import logging

import asyncpg

from contracts.corebanking.v1 import CardTransactionPosted
from contracts.points.v1 import Calculation, PointsEarned
from runtime.consumer import Inbound, Outcome, Outgoing

from . import ledger_sql
from .domain.earning import Earning, Purchase, bonus_month, earn
from .domain.rules import DEFAULT_TIER, EarningRules

log = logging.getLogger(__name__)


class EarnOnPurchase:
    """CardTransactionPosted -> ledger credit and one PointsEarned per purchase, a purchase
    that earns nothing (excluded category, under 1 CNY) included, so every purchase gets
    an answer and refunds can later find what it earned."""

    def __init__(self, rules: EarningRules) -> None:
        self.rules = rules

    async def __call__(self, conn: asyncpg.Connection,
                       batch: list[Inbound[CardTransactionPosted]]) -> Outcome:
        purchases = await self._first_time_purchases(conn, batch)
        if not purchases:
            return Outcome()
        members = sorted({p.member_id for _, p in purchases})
        tiers = await ledger_sql.member_tiers(conn, members)
        months = sorted({(p.member_id, bonus_month(p.posted_at, self.rules))
                         for _, p in purchases})
        bonus_used = await ledger_sql.monthly_bonus_used(conn, months)

        earned: list[tuple[Inbound, Purchase, Earning]] = []
        for inbound, purchase in purchases:  # in order: each purchase uses up the month's cap
            key = (purchase.member_id, bonus_month(purchase.posted_at, self.rules))
            earning = earn(purchase, tiers.get(purchase.member_id, DEFAULT_TIER),
                           bonus_used.get(key, 0), self.rules)
            bonus_used[key] = bonus_used.get(key, 0) + earning.bonus
            earned.append((inbound, purchase, earning))

        await ledger_sql.record_earnings(conn, [(p, e) for _, p, e in earned])
        return Outcome(events=[Outgoing(points_earned(p, e), cause=inbound)
                               for inbound, p, e in earned])

    async def _first_time_purchases(self, conn: asyncpg.Connection,
                                    batch: list[Inbound[CardTransactionPosted]]
                                    ) -> list[tuple[Inbound, Purchase]]:
        """Drop purchases already earned on: core banking re-sending a transaction under a
        new event id must not credit it twice (the inbox only knows event ids)."""
        seen = await ledger_sql.earned_transactions(
            conn, [i.event.transaction_id for i in batch])
        fresh = []
        for inbound in batch:
            tx = inbound.event
            if tx.transaction_id in seen:
                log.warning("transaction %s already earned points; event %s ignored",
                            tx.transaction_id, inbound.envelope.id)
                continue
            seen.add(tx.transaction_id)
            fresh.append((inbound, Purchase(
                transaction_id=tx.transaction_id, member_id=tx.customer_id,
                mcc=tx.merchant.mcc, spend_cny=tx.settlement_amount, posted_at=tx.posted_at)))
        return fresh


def points_earned(purchase: Purchase, earning: Earning) -> PointsEarned:
    return PointsEarned(
        member_id=purchase.member_id,
        transaction_id=purchase.transaction_id,
        points=earning.points,
        calculation=Calculation(
            spend_cny=purchase.spend_cny, base_points=earning.base,
            bonus_points=earning.bonus, multiplier=earning.multiplier, tier=earning.tier,
            rule_ids=list(earning.rule_ids), caps_applied=list(earning.caps_applied)),
        expires_on=earning.expires_on,
        earned_at=purchase.posted_at,
    )
