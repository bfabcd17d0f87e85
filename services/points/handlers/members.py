"""Member events from accounts: a tier change sets the multiplier for purchases from its
effective date and re-rates those already earned that it changes (domain/rerating.py); a
closed member forfeits what is left (domain/ledger.py).

A re-rating that moves points goes out as points.rerated: the purchase, what moved, and its
whole rating now. The ledger's transfer for it is referenced `<transaction id>/rerated-<n>`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from contracts.accounts.v1 import MemberClosed, MemberTierChanged
from contracts.points.v1 import Calculation, PointsForfeited, PointsRerated
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.ledger import MemberLedger
from ..domain.rerating import Rerating, rerate, since
from ..domain.rules import EarningRules
from ..sql import earning, ledger, rerating
from ..sql import members as sql

log = logging.getLogger(__name__)


class OnMemberEvents:
    """Records tier changes by effective date and re-rates the purchases they change;
    forfeits a closed member's points."""

    def __init__(self, rules: EarningRules) -> None:
        self.rules = rules

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        changes = [i for i in batch if isinstance(i.event, MemberTierChanged)]
        closed = [i for i in batch if isinstance(i.event, MemberClosed)]
        if changes:  # before any ledger is locked (sql/ledger.py)
            await ledger.lock_members(uow.conn, [i.event.member_id for i in changes])
        await sql.record_tiers(uow.conn, [
            (i.event.member_id, i.event.effective_date, i.event.new_tier) for i in changes])
        ledgers = await ledger.load(uow.conn, [i.event.member_id for i in changes + closed],
                                    open_missing={i.event.member_id for i in closed})
        if changes:
            await self._rerate(uow, changes, ledgers)
        for inbound in closed:
            event: MemberClosed = inbound.event
            if points := ledgers[event.member_id].close(event.closed_at):
                uow.emit(PointsForfeited(member_id=event.member_id, points=points,
                                         reason="member_closed", forfeited_at=event.closed_at),
                         inbound)
        if closed:
            await sql.record_closed(uow.conn, [(i.event.member_id, i.event.closed_at)
                                               for i in closed])
        await ledger.save(uow.conn, ledgers.values())

    async def _rerate(self, uow: UnitOfWork, changes: Sequence[Inbound[MemberTierChanged]],
                      ledgers: dict[str, MemberLedger]) -> None:
        """Each member's purchases from the month of the earliest change on."""
        latest: dict[str, Inbound[MemberTierChanged]] = {}
        start = {}
        for inbound in changes:
            member, day = inbound.event.member_id, inbound.event.effective_date
            if member in ledgers and not ledgers[member].closed:
                latest[member] = inbound
                start[member] = min(start.get(member, day), day)
        rated = await rerating.rated_since(
            uow.conn, {m: since(day, self.rules) for m, day in start.items()}, self.rules)
        if not rated:
            return
        history = await sql.tier_history(uow.conn, sorted(rated))
        made: list[Rerating] = []
        bonus = {}
        for member, purchases in rated.items():
            cause = latest[member]
            reratings, months = rerate(purchases, history[member], ledgers[member], self.rules,
                                       cause.event.changed_at)
            for r in reratings:
                if event := _event(r):
                    uow.emit(event, cause, key=("rerated", r.reference))
            made += reratings
            bonus.update({(member, month): used for month, used in months.items()})
        await rerating.record(uow.conn, made)
        await earning.set_monthly_bonus(uow.conn, bonus)
        if made:
            log.info("tier changes re-rated %d purchases of %d members", len(made),
                     len({r.rated.purchase.member_id for r in made}))


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
