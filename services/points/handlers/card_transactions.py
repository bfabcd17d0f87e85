"""Card transactions -> points: purchases earn (domain/earning.py), refunds reverse
(domain/refunds.py). One batch, one transaction (runtime.consumer).

Subscribed without the inbox: a purchase is deduplicated by its transaction id, kept in
`earnings` with the event that earned, so a redelivery (the same event: a duplicate) or a
re-send under a new event id earns and emits nothing. Refunds still claim their event ids in
the inbox, then are deduplicated by refund id: a parked refund that operations gave up on
(parked.py `expire`) is forgotten by its refund id but not by its event id, which a replay
of its dead letter releases (ops/dead_letters.py).

Purchases are applied before refunds, so a refund in the same batch as its purchase finds
it. A purchase or refund dated before its member's closure counts however late it comes: a
purchase earns and is forfeited at once (points.forfeited), a refund reverses and the
forfeiture gives back what it took (points.forfeiture-returned; domain/ledger.py). One dated
after the closure earns or takes back nothing, whenever it comes (domain/rerating.py).

A refund whose purchase has not arrived is parked and applied when it does; the expiry
job dead-letters those that waited too long for operations (handlers/expiry.py), and they
stay parked: a purchase arriving later still applies them, once (the refund id is recorded,
so a replayed dead letter is a refund already known).

Each earning keeps the merchant's city: the monthly spending profile names the city a
member bought in most (handlers/spending.py).
"""

from __future__ import annotations

import logging

from contracts.corebanking.v1 import CardTransactionPosted, CardTransactionRefunded
from contracts.points.v1 import PointsEarned, PointsReversed
from runtime import inbox
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.earning import Accrual, Earning, Purchase, bonus_month
from ..domain.ledger import MemberLedger
from ..domain.refunds import Reversal
from ..domain.rules import EarningRules
from ..sql import earning, ledger, members, refunds
from .campaigns import CurrentRules
from .forfeiture import forfeiture_event

log = logging.getLogger(__name__)


class OnCardTransactions:
    """Earns points on purchases and reverses them on refunds."""

    def __init__(self, rules: CurrentRules) -> None:
        self.rules = rules

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> set[str]:
        """Returns the ids of the events applied before (redelivered)."""
        conn = uow.conn
        rules = await self.rules.load(conn)  # with the campaigns in force now
        redelivered: set[str] = set()
        purchases = await _first_time_purchases(conn, [
            i for i in batch if isinstance(i.event, CardTransactionPosted)], redelivered)
        refunded = await _first_time_refunds(uow, [
            i for i in batch if isinstance(i.event, CardTransactionRefunded)], redelivered)
        if purchases:  # after the check above: a waiting refund re-sent is not new
            waiting, handed_over = await refunds.take_waiting(
                conn, [p.transaction_id for _, p in purchases])
            refunded = [*waiting, *refunded]
            for row in handed_over:
                log.warning("refund %s (dead-lettered %s: its purchase was late) applied now"
                            " that its purchase came", row["refund_id"],
                            row["dead_lettered_at"].isoformat())
        ledgers = await ledger.load(conn, [p.member_id for _, p in purchases]
                                    + [i.event.customer_id for i in refunded])
        if purchases:
            await self._earn(uow, rules, purchases, ledgers)
        if refunded:
            await _reverse(uow, refunded, ledgers)
        await ledger.save(conn, ledgers.values())
        return redelivered

    async def _earn(self, uow: UnitOfWork, rules: EarningRules,
                    purchases: list[tuple[Inbound, Purchase]],
                    ledgers: dict[str, MemberLedger]) -> None:
        months = sorted({(p.member_id, bonus_month(p.posted_at, rules)) for _, p in purchases})
        accrual = Accrual(rules,
                          await members.tier_history(uow.conn, sorted({m for m, _ in months})),
                          await earning.monthly_bonus_used(uow.conn, months))
        for inbound, purchase in purchases:  # in order: each uses up the month's bonus cap
            ledger_ = ledgers[purchase.member_id]
            uow.emit(points_earned(purchase, accrual.earn(purchase, ledger_)), inbound)
            if forfeited := accrual.forfeited.get(purchase.transaction_id):
                uow.emit(forfeiture_event(purchase.member_id, forfeited,
                                          purchase.transaction_id, ledger_.closed_at), inbound)
        await earning.record_earnings(uow.conn, accrual.earned, {
            purchase.transaction_id: inbound.envelope.id for inbound, purchase in purchases})


async def _reverse(uow: UnitOfWork, batch: list[Inbound[CardTransactionRefunded]],
                   ledgers: dict[str, MemberLedger]) -> None:
    purchases = await refunds.refundable(uow.conn, [i.event.original_transaction_id
                                                    for i in batch])
    # A refund naming another customer than its purchase's (rare) reverses the purchase's
    # member's points: their ledger too.
    if others := {p.member_id for p in purchases.values()} - ledgers.keys():
        ledgers.update(await ledger.load(uow.conn, others))
    applied: list[Reversal] = []
    parked: list[Inbound] = []
    for inbound in batch:
        refund: CardTransactionRefunded = inbound.event
        purchase = purchases.get(refund.original_transaction_id)
        if purchase is None:
            parked.append(inbound)
            continue
        if purchase.member_id != refund.customer_id:
            log.error("refund %s names customer %s, its purchase belongs to another one;"
                      " applied to the purchase's member", refund.refund_id, refund.customer_id)
        reversal = purchase.refund(ledgers[purchase.member_id], refund.refund_id,
                                   refund.refund_amount, refund.refunded_at)
        applied.append(reversal)
        if reversal.points:
            uow.emit(PointsReversed(
                member_id=reversal.member_id, refund_id=reversal.refund_id,
                transaction_id=reversal.transaction_id, points=reversal.points,
                reversed_at=reversal.at), inbound)
        if event := forfeiture_event(reversal.member_id, reversal.forfeited,
                                     reversal.refund_id, ledgers[purchase.member_id].closed_at):
            uow.emit(event, inbound)  # a closed ledger gave back what the refund took
    await refunds.record_refunds(uow.conn, applied)
    await refunds.park(uow.conn, parked)


async def _first_time_purchases(conn, batch: list[Inbound], redelivered: set[str]
                                ) -> list[tuple[Inbound, Purchase]]:
    """Drop purchases already earned on, adding to `redelivered` those whose own event
    earned: the rest are core banking re-sending a transaction under a new event id."""
    if not batch:
        return []
    earned = await earning.earned_transactions(conn, [i.event.transaction_id for i in batch])
    again = {i.envelope.id for i in batch if earned.get(i.event.transaction_id) == i.envelope.id}
    redelivered |= again
    batch = [i for i in batch if i.envelope.id not in again]
    return [(inbound, Purchase(
                transaction_id=tx.transaction_id, member_id=tx.customer_id,
                mcc=tx.merchant.mcc, spend_cny=tx.settlement_amount, posted_at=tx.posted_at,
                channel=tx.channel, city=tx.merchant.city))
            for inbound in _first_time(batch, set(earned), "transaction_id", "earned points")
            for tx in [inbound.event]]


async def _first_time_refunds(uow: UnitOfWork, batch: list[Inbound],
                              redelivered: set[str]) -> list[Inbound]:
    """Drop refunds whose event the inbox knows (adding them to `redelivered`), then those
    already applied or already waiting for their purchase (re-sent under a new event id)."""
    if not batch:
        return []
    claimed = await inbox.claim(uow.conn, [i.envelope.id for i in batch], uow.topic)
    redelivered |= {i.envelope.id for i in batch} - claimed
    batch = [i for i in batch if i.envelope.id in claimed]
    seen = await refunds.known_refunds(uow.conn, [i.event.refund_id for i in batch])
    return _first_time(batch, seen, "refund_id", "already recorded")


def _first_time(batch: list[Inbound], seen: set[str], key: str, known: str) -> list[Inbound]:
    """The events whose business id (`key`) is not in `seen` nor earlier in the batch: a
    fact re-sent under a new event id gets past an event id check, not past this."""
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


def points_earned(purchase: Purchase, earning: Earning) -> PointsEarned:
    # Validated, on the hot path too: pydantic-core's validation of the whole event costs
    # less than building it unvalidated (model_construct, a Python loop over every field of
    # both models); measured with tools/bench/points.py --profile.
    return PointsEarned.model_validate({
        "member_id": purchase.member_id,
        "transaction_id": purchase.transaction_id,
        "points": earning.points,
        "calculation": {
            "spend_cny": purchase.spend_cny, "base_points": earning.base,
            "bonus_points": earning.bonus, "multiplier": earning.multiplier,
            "tier": earning.tier, "rule_ids": list(earning.rule_ids),
            "caps_applied": list(earning.caps_applied)},
        "expires_on": earning.expires_on,
        "earned_at": purchase.posted_at,
    })
