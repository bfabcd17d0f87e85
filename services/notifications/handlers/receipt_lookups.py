"""The receipt reconciliation job (every RECEIPT_LOOKUP_EVERY_SECONDS): delivery receipts
pushed while the service was down, or never pushed (Alibaba Cloud warns that network errors
and timeouts can stop them), would leave messages 'sent' for ever. SMS messages sent over
RECEIPT_LOOKUP_AFTER_SECONDS ago without a receipt are claimed in bounded batches (their
lookup counted and their next check set, committed first), their provider is asked what
became of them (providers/base.py `status`), and an answer is applied exactly as the receipt
would have been (handlers/receipts.py `apply_receipts`: same events, same ids, so a receipt
arriving late after it changes nothing). No answer yet (awaiting the report, not listed, an
error): asked again later, up to RECEIPT_LOOKUP_MAX times, then left 'sent'. WeChat cannot be
asked (no lookup by our id). Outcomes are counted in
loyalty_notification_receipt_lookups_total."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta

import asyncpg

from runtime.personal_data import Sealer
from runtime.unit_of_work import UnitOfWork

from .. import metrics
from ..clock import Clock
from ..domain.delivery import Lookup, reconcile
from ..providers.base import SmsProvider
from ..providers.tracing import traced_lookup
from ..sql import receipts as sql
from .receipts import Receipt, apply_receipts

log = logging.getLogger(__name__)



class ReceiptLookups:
    def __init__(self, *, unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
                 clock: Clock, sealer: Sealer, sms: SmsProvider, after: timedelta,
                 max_lookups: int = 5, batch_size: int = 200, concurrency: int = 16) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock
        self._sealer = sealer
        self._sms = sms
        self._after = after
        self._max_lookups = max_lookups
        self._batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)

    async def run_once(self) -> int:
        """One batch; returns how many messages it settled."""
        now = self._clock.now()
        async with self._unit_of_work() as uow:  # counted first: a crash only delays them
            rows = await sql.claim_unreported(
                uow.conn, now, self._batch_size, now + self._after, self._sms.name,
                self._after, self._max_lookups)
        if not rows:
            return 0
        lookups = await asyncio.gather(*(self._ask(row, now) for row in rows))
        receipts = []
        for row, lookup in zip(rows, lookups, strict=True):
            decided = reconcile(lookup, row["receipt_lookups"], self._max_lookups)
            metrics.RECEIPT_LOOKUPS.labels(row["provider"], decided).inc()
            if decided in ("delivered", "failed"):
                receipts.append(Receipt(
                    row["provider"], row["provider_message_id"] or lookup.provider_message_id
                    or "", str(row["id"]), decided == "delivered", lookup.code))
            elif decided == "gave_up":
                log.warning("message %s: no delivery receipt and %s could not say after %d"
                            " lookups (%s); left 'sent'", row["id"], row["provider"],
                            row["receipt_lookups"], lookup.code)
        settled = 0
        if receipts:
            async with self._unit_of_work() as uow:
                settled = await apply_receipts(uow, receipts, now)
        log.info("looked up %d sent messages without a receipt: %d settled", len(rows),
                 settled)
        return settled

    async def _ask(self, row: asyncpg.Record, now: datetime) -> Lookup:
        try:
            mobile = self._sealer.open(f"{row['member_id']}:mobile", row["mobile_sealed"])
        except Exception as exc:  # erased contact, retired key: no answer
            return Lookup(None, code=type(exc).__name__)
        async with self._limit:
            return await traced_lookup(self._sms, row["traceparent"], str(row["id"]), mobile,
                                       row["sent_at"], now)
