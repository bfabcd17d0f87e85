"""Member events from accounts: a tier change sets the multiplier for purchases from its
effective date; a closed member forfeits what is left."""

from __future__ import annotations

import asyncpg

from contracts.accounts.v1 import MemberClosed, MemberTierChanged
from contracts.points.v1 import PointsForfeited
from runtime.consumer import Inbound, Outcome, Outgoing

from ..sql import ledger
from ..sql import members as sql


async def on_member_events(conn: asyncpg.Connection, batch: list[Inbound]) -> Outcome:
    await sql.record_tiers(conn, [
        (i.event.member_id, i.event.effective_date, i.event.new_tier)
        for i in batch if isinstance(i.event, MemberTierChanged)])
    closed = [i for i in batch if isinstance(i.event, MemberClosed)]
    if not closed:
        return Outcome()
    ledgers = await ledger.load(conn, [i.event.member_id for i in closed])
    outcome = Outcome()
    for inbound in closed:
        event: MemberClosed = inbound.event
        account = ledgers[event.member_id]
        if account.closed:
            continue  # closed twice (re-sent under a new id): forfeited the first time
        if points := account.forfeit(event.member_id, event.closed_at):
            outcome.events.append(Outgoing(PointsForfeited(
                member_id=event.member_id, points=points, reason="member_closed",
                forfeited_at=event.closed_at), cause=inbound))
    await sql.record_closed(conn, [(i.event.member_id, i.event.closed_at) for i in closed])
    await ledger.save(conn, ledgers.values())
    return outcome
