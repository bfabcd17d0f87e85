"""Card transactions -> points: purchases earn, refunds reverse. One batch, one transaction
(runtime.consumer), after the inbox has dropped redelivered events.

Purchases are applied before refunds, so a refund in the same batch as its purchase finds
it. A refund whose purchase has not arrived is parked and applied when it does; a job sends
those that waited too long to the dead-letter topic (jobs.py).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import asyncpg

from contracts.corebanking.v1 import CardTransactionPosted, CardTransactionRefunded
from contracts.envelope import Envelope
from contracts.points.v1 import Calculation, PointsEarned, PointsReversed
from runtime.consumer import Inbound, Outcome, Outgoing

from ..domain.earning import Earning, Purchase, bonus_month, earn, local_date, tier_on
from ..domain.ledger import MemberLedger
from ..domain.refunds import points_to_reverse
from ..domain.rules import EarningRules
from ..sql import earning as sql
from ..sql import ledger

log = logging.getLogger(__name__)


class OnCardTransactions:
    def __init__(self, rules: EarningRules) -> None:
        self.rules = rules

    async def __call__(self, conn: asyncpg.Connection, batch: list[Inbound]) -> Outcome:
        purchases = await self._first_time_purchases(conn, [
            i for i in batch if isinstance(i.event, CardTransactionPosted)])
        refunds = await self._first_time_refunds(conn, [
            i for i in batch if isinstance(i.event, CardTransactionRefunded)])
        waiting = await sql.take_waiting_refunds(conn, [p.transaction_id for _, p in purchases])
        refunds = [*map(_unparked, waiting), *refunds]
        ledgers = await ledger.load(conn, [p.member_id for _, p in purchases]
                                    + [i.event.customer_id for i in refunds])
        outcome = Outcome()
        outcome.events += await self._earn(conn, purchases, ledgers)
        outcome.events += await self._reverse(conn, refunds, ledgers)
        await ledger.save(conn, ledgers.values())
        return outcome

    # ------------------------------------------------------------------ purchases

    async def _earn(self, conn, purchases: list[tuple[Inbound, Purchase]],
                    ledgers: dict[str, MemberLedger]) -> list[Outgoing]:
        if not purchases:
            return []
        members = sorted({p.member_id for _, p in purchases})
        tiers = await sql.tier_history(conn, members)
        months = sorted({(p.member_id, bonus_month(p.posted_at, self.rules))
                         for _, p in purchases})
        bonus_used = await sql.monthly_bonus_used(conn, months)

        earned, events = [], []
        for inbound, purchase in purchases:  # in order: each purchase uses up the month's cap
            account = ledgers[purchase.member_id]
            key = (purchase.member_id, bonus_month(purchase.posted_at, self.rules))
            tier = tier_on(tiers.get(purchase.member_id, []),
                           local_date(purchase.posted_at, self.rules))
            earning = earn(purchase, tier, bonus_used.get(key, 0), self.rules,
                           member_closed=account.closed)
            bonus_used[key] = bonus_used.get(key, 0) + earning.bonus
            if earning.points:
                account.credit("earn", purchase.transaction_id, earning.points,
                               earning.expires_on, purchase.posted_at)
            earned.append((purchase, earning))
            events.append(Outgoing(points_earned(purchase, earning), cause=inbound))
        await sql.record_earnings(conn, earned)
        return events

    async def _first_time_purchases(self, conn: asyncpg.Connection, batch: list[Inbound]
                                    ) -> list[tuple[Inbound, Purchase]]:
        """Drop purchases already earned on: core banking re-sending a transaction under a
        new event id must not credit it twice (the inbox only knows event ids)."""
        seen = await sql.earned_transactions(conn, [i.event.transaction_id for i in batch])
        return [(inbound, Purchase(
                    transaction_id=tx.transaction_id, member_id=tx.customer_id,
                    mcc=tx.merchant.mcc, spend_cny=tx.settlement_amount, posted_at=tx.posted_at))
                for inbound in _first_time(batch, seen, "transaction_id", "earned points")
                for tx in [inbound.event]]

    # ------------------------------------------------------------------ refunds

    async def _reverse(self, conn, refunds: list[Inbound],
                       ledgers: dict[str, MemberLedger]) -> list[Outgoing]:
        if not refunds:
            return []
        purchases = await sql.refundable(conn, [i.event.original_transaction_id
                                                for i in refunds])
        applied, parked, events = [], [], []
        for inbound in refunds:
            refund: CardTransactionRefunded = inbound.event
            purchase = purchases.get(refund.original_transaction_id)
            if purchase is None:
                parked.append(_parked(inbound))
                continue
            if purchase.member_id != refund.customer_id:
                log.error("refund %s names customer %s, its purchase belongs to another one;"
                          " applied to the purchase's member", refund.refund_id,
                          refund.customer_id)
            points = points_to_reverse(purchase.earned, purchase.spend, purchase.refunded,
                                       purchase.reversed, refund.refund_amount)
            # Later refunds of the same purchase in this batch see this one.
            purchases[refund.original_transaction_id] = replace(
                purchase, refunded=purchase.refunded + refund.refund_amount,
                reversed=purchase.reversed + points)
            applied.append((refund.refund_id, refund.original_transaction_id, purchase.member_id,
                            refund.refund_amount, points, refund.refunded_at))
            if points:
                account = ledgers.get(purchase.member_id) or await self._late_ledger(
                    conn, ledgers, purchase.member_id)
                account.reverse(refund.refund_id, points, purchase.expires_on,
                                refund.refunded_at)
                events.append(Outgoing(PointsReversed(
                    member_id=purchase.member_id, refund_id=refund.refund_id,
                    transaction_id=refund.original_transaction_id, points=points,
                    reversed_at=refund.refunded_at), cause=inbound))
        await sql.record_refunds(conn, applied)
        await sql.park_refunds(conn, parked)
        return events

    async def _late_ledger(self, conn, ledgers: dict[str, MemberLedger],
                           member_id: str) -> MemberLedger:
        # Only when a refund names another customer than its purchase: rare enough for a
        # query of its own.
        ledgers.update(await ledger.load(conn, [member_id]))
        return ledgers[member_id]

    async def _first_time_refunds(self, conn: asyncpg.Connection,
                                  batch: list[Inbound]) -> list[Inbound]:
        seen = await sql.known_refunds(conn, [i.event.refund_id for i in batch])
        return _first_time(batch, seen, "refund_id", "already recorded")


def _first_time(batch: list[Inbound], seen: set[str], key: str, known: str) -> list[Inbound]:
    """The events whose business id (`key`) is not in `seen` nor earlier in the batch: a
    fact re-sent under a new event id gets past the inbox, not past this."""
    fresh = []
    for inbound in batch:
        business_id = getattr(inbound.event, key)
        if business_id in seen:
            log.warning("%s %s %s; event %s ignored", key, business_id, known,
                        inbound.envelope.id)
            continue
        seen.add(business_id)
        fresh.append(inbound)
    return fresh


def _parked(inbound: Inbound) -> tuple:
    headers = inbound.envelope.to_headers()
    return (inbound.event.refund_id, inbound.event.original_transaction_id,
            inbound.event.customer_id, inbound.envelope.id,
            inbound.event.model_dump_json(exclude_none=True).encode(),
            [name for name, _ in headers], [value for _, value in headers])


def _unparked(row) -> Inbound:
    envelope = Envelope.from_headers(zip(row["header_names"], row["header_values"], strict=True))
    return Inbound(CardTransactionRefunded.model_validate_json(row["payload"]), envelope)


def points_earned(purchase: Purchase, earning: Earning) -> PointsEarned:
    # Built without validation (model_construct): one per purchase, and every value comes from
    # a validated inbound event or the validated programme file. A unit test holds this to
    # the validated contract.
    return PointsEarned.model_construct(
        member_id=purchase.member_id,
        transaction_id=purchase.transaction_id,
        points=earning.points,
        calculation=Calculation.model_construct(
            spend_cny=purchase.spend_cny, base_points=earning.base,
            bonus_points=earning.bonus, multiplier=earning.multiplier, tier=earning.tier,
            rule_ids=list(earning.rule_ids), caps_applied=list(earning.caps_applied)),
        expires_on=earning.expires_on,
        earned_at=purchase.posted_at,
    )
