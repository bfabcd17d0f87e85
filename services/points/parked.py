"""Operations on refunds parked for their purchase (`loyalty-ops refunds`), in a unit of
work of the service's:

    retry    apply the parked refunds whose purchase has arrived (normally the purchase
             applies them as it comes; this catches any left behind)
    expire   stop waiting: take refunds off the waiting list, dead-lettering those not yet
             handed to operations (`expired_by_operations`). A purchase arriving later no
             longer applies them; replaying the dead letter parks (or applies) it again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from contracts.topics import CARD_TRANSACTIONS_V1
from runtime.unit_of_work import UnitOfWork

from .handlers.card_transactions import _reverse
from .sql import ledger, parked, refunds

log = logging.getLogger(__name__)


async def retry(uow: UnitOfWork, refund_ids: Sequence[str]) -> list[str]:
    """The refunds applied (with the other refunds of the same purchases)."""
    purchases = await parked.purchases_in(uow.conn, refund_ids)
    if not purchases:
        return []
    waiting, _ = await refunds.take_waiting(uow.conn, purchases)
    ledgers = await ledger.load(uow.conn, [i.event.customer_id for i in waiting])
    await _reverse(uow, waiting, ledgers)
    await ledger.save(uow.conn, ledgers.values())
    return [i.event.refund_id for i in waiting]


async def expire(uow: UnitOfWork, refund_ids: Sequence[str]) -> list[str]:
    """The refunds taken off the waiting list."""
    rows = await parked.take(uow.conn, refund_ids)
    for row in rows:
        if row["dead_lettered_at"] is None:
            uow.dead_letter(refunds.stored_record(row),
                            f"refund {row['refund_id']}: expired by operations before its"
                            " purchase came", "expired_by_operations",
                            topic=CARD_TRANSACTIONS_V1)
        log.warning("parked refund %s expired by operations", row["refund_id"])
    return [row["refund_id"] for row in rows]
