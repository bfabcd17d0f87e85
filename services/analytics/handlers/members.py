"""Member events from accounts: enrolments (month and tier), closures and tier changes."""

from __future__ import annotations

from contracts.accounts.v1 import MemberClosed, MemberEnrolled, MemberTierChanged
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.months import month_of
from ..sql import members as sql


class OnMembers:
    """Records enrolments, closures and tier changes (members, tier_changes)."""

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        events = [i.event for i in batch]
        await sql.enrol(uow.conn, [(e.member_id, month_of(e.enrolled_at), e.tier)
                                   for e in events if isinstance(e, MemberEnrolled)])
        await sql.close(uow.conn, [(e.member_id, month_of(e.closed_at))
                                   for e in events if isinstance(e, MemberClosed)])
        await sql.change_tiers(uow.conn, [(e.member_id, e.effective_date, e.new_tier)
                                          for e in events if isinstance(e, MemberTierChanged)])
