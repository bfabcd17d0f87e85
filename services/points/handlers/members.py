"""Member events from accounts: a tier change sets the multiplier for purchases from its
effective date and re-rates those already earned that it changes (domain/rerating.py); a
closed member forfeits what is left (domain/ledger.py), once the purchases and refunds dated
after the closure that arrived before it are rated as if it had come first (they count
nothing: domain/rerating.py `close`).

A re-rating that moves points goes out as points.rerated: the purchase, what moved, and its
whole rating now. The ledger's transfer for it is referenced `<transaction id>/rerated-<n>`.
A closed member is re-rated too, for the days before the closure, and what that moves is
trued up at once: points.forfeited, or points.forfeiture-returned for a re-rating down.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from contracts.accounts.v1 import MemberClosed, MemberTierChanged
from contracts.points.v1 import Calculation, PointsForfeited, PointsRerated
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.ledger import MemberLedger
from ..domain.rerating import Rerating, close, rerate, since
from ..sql import earning, ledger, rerating
from ..sql import members as sql
from .campaigns import CurrentRules
from .forfeiture import forfeiture_event

log = logging.getLogger(__name__)

#: Where a closure's re-rating starts: every purchase of the member (a refund dated after
#: the closure may be of any of them).
EVERY_PURCHASE = datetime(1970, 1, 1, tzinfo=UTC)


class OnMemberEvents:
    """Records tier changes by effective date and re-rates the purchases they change;
    forfeits a closed member's points."""

    def __init__(self, rules: CurrentRules) -> None:
        self.rules = rules

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        changes = [i for i in batch if isinstance(i.event, MemberTierChanged)]
        closed = [i for i in batch if isinstance(i.event, MemberClosed)]
        members = [i.event.member_id for i in changes + closed]
        if members:  # before any ledger is locked (sql/ledger.py): both re-rate purchases
            await ledger.lock_members(uow.conn, members)
        await sql.record_tiers(uow.conn, [
            (i.event.member_id, i.event.effective_date, i.event.new_tier) for i in changes])
        ledgers = await ledger.load(uow.conn, members,
                                    open_missing={i.event.member_id for i in closed})
        closing: dict[str, Inbound[MemberClosed]] = {}
        for inbound in closed:  # the first closure of a member counts
            if not ledgers[inbound.event.member_id].closed:
                closing.setdefault(inbound.event.member_id, inbound)
        if closed:  # before the purchases are read: refunds dated after it no longer count
            await sql.record_closed(uow.conn, [(i.event.member_id, i.event.closed_at)
                                               for i in closed])
        await self._rerate(uow, changes, closing, ledgers)
        await ledger.save(uow.conn, ledgers.values())

    async def _rerate(self, uow: UnitOfWork, changes: Sequence[Inbound[MemberTierChanged]],
                      closing: dict[str, Inbound[MemberClosed]],
                      ledgers: dict[str, MemberLedger]) -> None:
        """Each member's purchases from the month of the earliest change on (all of them
        for a member closing), then each closing member's forfeiture."""
        rules = await self.rules.load(uow.conn)  # with the campaigns in force now
        cause: dict[str, Inbound] = {}
        start: dict[str, datetime] = {}
        for inbound in changes:
            member, day = inbound.event.member_id, inbound.event.effective_date
            if member in ledgers:
                cause[member] = inbound
                start[member] = min(start.get(member, since(day, rules)),
                                    since(day, rules))
        for member, inbound in closing.items():
            cause[member], start[member] = inbound, EVERY_PURCHASE
        if not start:
            return
        rated = await rerating.rated_since(uow.conn, start, rules)
        history = await sql.tier_history(uow.conn, sorted(start))
        made: list[Rerating] = []
        bonus = {}
        for member in sorted(start):
            purchases, by = rated.get(member, []), cause[member]
            if member in closing:
                reratings, months, forfeited = close(purchases, history[member],
                                                     ledgers[member], rules,
                                                     by.event.closed_at)
            else:
                reratings, months = rerate(purchases, history[member], ledgers[member],
                                           rules, by.event.changed_at)
            for r in reratings:
                for event, kind in ((_event(r), "rerated"), (forfeiture_event(
                        member, r.forfeited, r.reference, ledgers[member].closed_at),
                        "trued-up")):
                    if event:
                        uow.emit(event, by, key=(kind, r.reference))
            if member in closing and forfeited:
                uow.emit(PointsForfeited(member_id=member, points=forfeited,
                                         reason="member_closed",
                                         forfeited_at=by.event.closed_at), by)
            made += reratings
            bonus.update({(member, month): used for month, used in months.items()})
        await rerating.record(uow.conn, made)
        await earning.set_monthly_bonus(uow.conn, bonus)
        if made:
            log.info("tier changes and closures re-rated %d purchases of %d members",
                     len(made), len({r.rated.purchase.member_id for r in made}))


def _event(r: Rerating) -> PointsRerated | None:
    """What a re-rating moved, if anything."""
    if not r.points:
        return None
    purchase, new = r.rated.purchase, r.earning
    return PointsRerated(
        member_id=purchase.member_id, transaction_id=purchase.transaction_id,
        revision=r.revision, points_moved=r.points, points=new.points,
        calculation=Calculation(
            spend_cny=purchase.spend_cny, base_points=new.base, bonus_points=new.bonus,
            multiplier=new.multiplier, tier=new.tier, rule_ids=list(new.rule_ids),
            caps_applied=list(new.caps_applied)),
        expires_on=new.expires_on, rerated_at=r.at)
