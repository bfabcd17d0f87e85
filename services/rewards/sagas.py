"""Operations on points-paid redemptions waiting for the points service
(`loyalty-ops sagas`), in a unit of work of the service's:

    retry    ask points again: `redemption.requested` re-emitted under its first event id
             (the business key), so a points service that applied it drops it in its inbox
             and one that never got it (or whose dead letter was released) debits now
    expire   time them out now, as the service's own job does past SAGA_TIMEOUT_SECONDS
             (handlers/timeouts.py): rejected `timed_out`, usage given back, the answer
             stored for the request's key; a debit landing later is refunded
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from contracts.rewards.v1 import RedemptionRequested
from runtime.unit_of_work import UnitOfWork

from .domain.redemptions import timed_out
from .handlers.saga import apply_outcomes
from .settlements import Settlements
from .sql import sagas as sql


async def retry(uow: UnitOfWork, ids: Sequence[str]) -> list[str]:
    """The pending redemptions asked for again."""
    asked = []
    for r in await sql.pending(uow.conn, ids=ids, limit=len(ids)):
        uow.emit(RedemptionRequested(
            member_id=r.member_id, redemption_id=r.id, partner_id=r.partner_id, kind=r.kind,
            item_id=r.item_id, persons=r.persons, points=r.points,
            requested_at=r.created_at), key=(r.id, RedemptionRequested.ce_type))
        asked.append(r.id)
    return asked


async def expire(uow: UnitOfWork, ids: Sequence[str], database_url: str) -> list[str]:
    """The pending redemptions timed out (those settled meanwhile are left as they are)."""
    pending = await sql.pending(uow.conn, ids=ids, limit=len(ids))
    outcomes = timed_out(pending, datetime.now(UTC), timedelta(0))
    channel = Settlements(database_url, uow.service).channel  # wakes a waiting request
    return [r.id for r in await apply_outcomes(uow, channel, outcomes, over_202=True)]
