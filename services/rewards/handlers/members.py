"""loyalty.members.v1 -> the members projection (tier, closed) that redemptions and
entitlements read. Runs in the batch's unit of work, after the inbox dropped redeliveries."""

from __future__ import annotations

from datetime import datetime

from contracts.accounts.v1 import MemberClosed, MemberEnrolled, MemberTierChanged
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..sql import members as sql


async def project_members(uow: UnitOfWork, batch: list[Inbound]) -> None:
    """The tier and closure of members, as the accounts service tells them."""
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
    await sql.project_tiers(uow.conn, tiers)
    await sql.project_closed(uow.conn, closed)
