"""loyalty.points.v1 -> the saga's second half: a debit confirms a pending redemption, a
rejection rejects it and gives back what it took from the allowance; a refund is noted.
The answer of each settled redemption is stored for its Idempotency-Key and its id
NOTIFYed, so the HTTP request waiting on any instance (settlements.py) answers at once.
An answer for a redemption that no longer waits for it (timed out: handlers/timeouts.py, or
cancelled while pending) is a late one: a late debit is refunded, once, by a
`redemption.refund-requested` (its story ended already: one cancellation at most)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.redemptions import Redemption, Status, settle
from ..schemas import settled
from ..sql import idempotency
from ..sql import members as usage
from ..sql import redemptions as sql
from .redemptions import emit_events

Outcomes = dict[str, tuple[Status, str | None]]


class SettleRedemptions:
    """Points-paid redemptions confirmed or rejected by the points service's answers."""

    def __init__(self, channel: str) -> None:
        self.channel = channel  # NOTIFY channel of the settlements listener

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        settlement = settle(inbound.event for inbound in batch)

        def cause(redemption_id: str) -> Inbound:
            return batch[settlement.causes[redemption_id]]
        moved = {r.id for r in await apply_outcomes(uow, self.channel, settlement.outcomes,
                                                    cause)}
        late = {i: o for i, o in settlement.outcomes.items() if i not in moved}
        await answered_late(uow, late, cause)
        await sql.mark_refunded(uow.conn, settlement.refunded)


async def apply_outcomes(uow: UnitOfWork, channel: str, outcomes: Outcomes,
                         cause: Callable[[str], Inbound] | None = None, *,
                         over_202: bool = False) -> list[Redemption]:
    """The pending redemptions among `outcomes` settled so (their events emitted, traced to
    `cause(id)`), a rejected one's usage given back, its answer stored for its key
    (`over_202`: in place of a stored 202 too) and NOTIFYed; the ones that moved."""
    moved = await sql.settle(uow.conn, outcomes)
    await usage.give_back(uow.conn, [r for r in moved if r.status == "rejected"])
    await idempotency.store_settled_answers(uow.conn, [(r.id, *settled(r)) for r in moved],
                                            over_202=over_202)
    await sql.notify_settled(uow.conn, channel, [r.id for r in moved])
    now = datetime.now(UTC)
    for r in moved:
        r.settled(now)
        emit_events(uow, r, cause(r.id) if cause else None)
    return moved


async def answered_late(uow: UnitOfWork, outcomes: Outcomes,
                        cause: Callable[[str], Inbound]) -> None:
    """Answers for redemptions that were not pending: a debit of one that timed out or was
    cancelled while it waited is refunded (a `redemption.refund-requested` asks points)."""
    debited = [i for i, (status, _) in outcomes.items() if status == "confirmed"]
    if not debited:
        return
    now = datetime.now(UTC)
    refunds = [r for r in await sql.locked(uow.conn, debited) if r.late_debit(now)]
    await sql.save_refunds(uow.conn, refunds)
    for r in refunds:
        emit_events(uow, r, cause(r.id))
