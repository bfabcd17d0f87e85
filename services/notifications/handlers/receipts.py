"""The providers' delivery receipts (api.py parses them) -> each is recorded and settles its
message, delivered or failed with delivery_failed, emitting notification.delivered /
notification.failed; one unit of work per callback. A receipt settles only a message its
provider sent. Receipts carry phone numbers and openids: they are neither logged nor
stored. `apply_receipts` is also how a receipt that never came is settled once its provider,
asked, has answered (handlers/receipt_lookups.py): whichever comes first settles the
message, the other is recorded and changes nothing."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from contracts.notifications.v1 import NotificationDelivered, NotificationFailed
from runtime.unit_of_work import UnitOfWork

from ..clock import Clock
from ..sql import receipts as sql

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Receipt:
    provider: str
    provider_message_id: str
    #: Our message id when the provider echoes it (Alibaba Cloud out_id).
    message_id: str | None
    delivered: bool
    code: str


class OnReceipts:
    def __init__(self, unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
                 clock: Clock) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock

    async def __call__(self, receipts: list[Receipt]) -> int:
        """Returns how many messages the receipts settled."""
        now = self._clock.now()
        async with self._unit_of_work() as uow:
            settled = await apply_receipts(uow, receipts, now)
        log.info("recorded %d delivery receipts (%d settled messages)", len(receipts), settled)
        return settled


async def apply_receipts(uow: UnitOfWork, receipts: list[Receipt], now: datetime) -> int:
    """Records the receipts and settles the 'sent' messages they name, with their events
    (keyed (message id, "receipt"): one per message, whatever reports it); returns how many
    it settled."""
    targets = await sql.receipt_targets(
        uow.conn, [r.provider_message_id for r in receipts],
        [r.message_id for r in receipts if r.message_id and _is_uuid(r.message_id)])
    by_provider_id = {(t["provider"], t["provider_message_id"]): t for t in targets}
    by_id = {str(t["id"]): t for t in targets}
    rows, outcomes = [], {}
    for receipt in receipts:
        target = by_id.get(receipt.message_id or "")
        if target is None or target["provider"] != receipt.provider:
            # A provider reports only on what it was given to send.
            target = by_provider_id.get((receipt.provider, receipt.provider_message_id))
        code = receipt.code[:64]
        rows.append((receipt.provider, receipt.provider_message_id,
                     target["id"] if target else None, receipt.delivered, code))
        if target is None or target["state"] != "sent" or target["id"] in outcomes:
            continue  # unknown, or already settled: recorded, nothing changes
        mid = str(target["id"])
        if receipt.delivered:
            outcomes[target["id"]] = (target["id"], "delivered", None, None, now)
            event = NotificationDelivered(
                member_id=target["member_id"], message_id=mid,
                channel=target["channel"], provider=target["provider"],
                delivered_at=now)
        else:
            outcomes[target["id"]] = (target["id"], "failed", "delivery_failed", code,
                                      now)
            event = NotificationFailed(
                member_id=target["member_id"], message_id=mid,
                template=target["template"], channel=target["channel"],
                reason="delivery_failed", error_code=code, failed_at=now)
        uow.emit(event, key=(mid, "receipt"), time=now)
    await sql.record_receipts(uow.conn, rows, list(outcomes.values()))
    return len(outcomes)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
