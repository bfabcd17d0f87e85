"""loyalty.points.v1 -> the saga's second half: a debit confirms a pending redemption, a
rejection rejects it and gives back what it took from the allowance; a refund is noted.
The answer of each settled redemption is stored for its Idempotency-Key and its id
NOTIFYed, so the HTTP request waiting on any instance (settlements.py) answers at once."""

from __future__ import annotations

from datetime import UTC, datetime

from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.redemptions import settle
from ..schemas import settled
from ..sql import idempotency
from ..sql import members as usage
from ..sql import redemptions as sql


class SettleRedemptions:
    """Points-paid redemptions confirmed or rejected by the points service's answers."""

    def __init__(self, channel: str) -> None:
        self.channel = channel  # NOTIFY channel of the settlements listener

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        settlement = settle(inbound.event for inbound in batch)
        moved = await sql.settle(uow.conn, settlement.outcomes)
        await usage.give_back(uow.conn, [r for r in moved if r.status == "rejected"])
        await sql.mark_refunded(uow.conn, settlement.refunded)
        await idempotency.store_settled_answers(uow.conn, [(r.id, *settled(r)) for r in moved])
        await sql.notify_settled(uow.conn, self.channel, [r.id for r in moved])
        now = datetime.now(UTC)
        for r in moved:
            r.settled(now)
            for event in r.events:
                uow.emit(event, batch[settlement.causes[r.id]])
