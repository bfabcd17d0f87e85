"""The sender job (SENDER_WORKERS background workers, woken when messages are queued, else
every SENDER_POLL_SECONDS): claims due messages in batches and marks them 'sending' (FOR
UPDATE SKIP LOCKED, committed before any provider call), calls the providers concurrently,
then records every attempt and the message's new state and emits notification.sent /
notification.failed in a second unit of work.

WeChat first when the member has an openid, SMS otherwise, and SMS at once when WeChat
refuses (not following, blocked). Transient errors retry with exponential backoff and
jitter; permanent ones fail at once.

Nothing reaches a provider twice: a sender killed mid-batch leaves its messages 'sending',
and once their lease has run out they are settled without a second call (sent, attempt
outcome 'unknown'; Alibaba Cloud's receipt, which names our id, still marks it delivered).
SMS providers drop no repeats, so a resend could reach the member twice; the price is that
a message whose call had not left when the process died counts as sent. A batch is at most
a worker's share of SENDER_CONCURRENCY, so every message marked has its call under way at
once and that window is milliseconds. The message id travels as WeChat's client_msg_id and
the SMS out-id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg
from prometheus_client import Counter

from contracts.base import Event
from contracts.notifications.v1 import NotificationFailed, NotificationSent
from runtime.personal_data import Sealer
from runtime.retry import retry_transient
from runtime.unit_of_work import UnitOfWork

from .. import metrics
from ..clock import Clock
from ..domain.delivery import Result, RetryPolicy, settle
from ..domain.messages import consent_missing, render_body
from ..domain.templates import Rendered, Template
from ..providers.base import SmsProvider, WechatProvider
from ..sql import messages as sql

log = logging.getLogger(__name__)
#: How soon a message waiting for its member's contact data looks again.
CONTACT_RECHECK = timedelta(seconds=30)

FINISHED = Counter("loyalty_notifications_finished_total",
                   "Messages settled by final state (sent, failed, skipped).", ["state"])


@dataclass
class _Done:
    update: sql.MessageUpdate
    attempts: list[tuple] = field(default_factory=list)
    #: The event it causes; its id is keyed by (message id, `what`: "sent" or "failed").
    event: Event | None = None
    what: str = ""


class Sender:
    def __init__(self, *, unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
                 clock: Clock, templates: Mapping[str, Template], sign_name: str,
                 sealer: Sealer, wechat: WechatProvider, sms: SmsProvider, policy: RetryPolicy,
                 batch_size: int = 500, concurrency: int = 64, workers: int = 1,
                 poll_seconds: float = 0.5, contact_wait: timedelta = timedelta(minutes=10),
                 lease: timedelta = timedelta(seconds=30)) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock
        self._templates = templates
        self._sign_name = sign_name
        self._sealer = sealer
        self._wechat = wechat
        self._sms = sms
        self._policy = policy
        # No message of a batch waits for a free call slot once marked (see the docstring).
        self._batch_size = max(1, min(batch_size, concurrency // workers))
        self._limit = asyncio.Semaphore(concurrency)
        self._poll = poll_seconds
        self._contact_wait = contact_wait
        #: How long a batch may take before its 'sending' marks count as a dead sender's.
        self._lease = lease
        self._wake = asyncio.Event()

    def wake(self, *_args: object) -> None:
        """New messages may be due (a batch committed, or a test moved the clock)."""
        self._wake.set()

    async def run(self) -> None:
        """One worker, until cancelled; several may run (they skip each other's rows)."""
        while True:
            self._wake.clear()
            try:
                if await self.run_once() >= self._batch_size:
                    continue  # a full batch: more is waiting
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("sender batch failed: %r; trying again", exc)
                await asyncio.sleep(1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def run_once(self) -> int:
        """Send one batch of due messages; returns how many were claimed."""
        now = self._clock.now()
        await self._settle_interrupted(now)
        async with self._unit_of_work() as uow:  # the 'sending' marks, committed first
            rows = await sql.claim_due(uow.conn, now, self._batch_size, now + self._lease)
        if not rows:
            return 0
        done = await asyncio.gather(*(self._send_guarded(row, now) for row in rows))

        async def record() -> None:
            async with self._unit_of_work() as uow:
                await _save(uow, done, now)
        # The calls are made: what they answered is kept through a database restart (else
        # the lease runs out and they count as interrupted, their answers lost).
        await retry_transient("notifications sender record", record, max_attempts=8)
        return len(rows)

    async def _settle_interrupted(self, now: datetime) -> None:
        """Messages a dead sender left 'sending': settled, never called again."""
        async with self._unit_of_work() as uow:
            rows = await sql.claim_interrupted(uow.conn, now, self._batch_size)
            await _save(uow, [self._interrupted(row, now) for row in rows], now)

    def _interrupted(self, row: asyncpg.Record, now: datetime) -> _Done:
        if row["family_name"] is None or consent_missing(row["category"], row):
            return _Done(self._update(row, "queued", now))  # no call was made: decide anew
        wechat = row["openid_sealed"] is not None and not row["sms_only"]
        channel, provider = ("wechat", self._wechat.name) if wechat else ("sms", self._sms.name)
        attempts = row["attempts"] + 1
        log.warning("message %s: its sender died during the %s call; counted as sent, not"
                    " sent again", row["id"], provider)
        metrics.PROVIDER_CALLS.labels(channel, provider, "unknown").inc()
        FINISHED.labels("sent").inc()
        update = self._update(row, "sent", now, attempts=attempts, channel=channel,
                              provider=provider, reason="interrupted", sent_at=now)
        event = NotificationSent(
            member_id=row["member_id"], message_id=str(row["id"]), template=row["template"],
            cause_event_id=row["cause_id"], channel=channel, provider=provider,
            recipient_masked=row["mobile_masked"] if channel == "sms" else None,
            attempts=attempts, sent_at=now)
        attempt = (row["id"], attempts, channel, provider, "unknown", "interrupted", None, now)
        return _Done(update, [attempt], event, "sent")

    # ------------------------------------------------------------------ one message

    async def _send_guarded(self, row: asyncpg.Record, now: datetime) -> _Done:
        """One message that cannot be prepared (a template bug, a contact sealed under a
        retired key) fails alone instead of failing its whole batch again and again."""
        try:
            return await self._send(row, now)
        except Exception as exc:
            log.error("message %s cannot be sent: %s", row["id"], type(exc).__name__)
            return self._failed(row, now, row["attempts"], None, "rejected",
                                type(exc).__name__, [])

    async def _send(self, row: asyncpg.Record, now: datetime) -> _Done:
        if row["family_name"] is None:  # no contact data (yet, or any more)
            if now - row["created_at"] < self._contact_wait:
                return _Done(self._update(row, "queued", now + CONTACT_RECHECK))
            return self._failed(row, now, row["attempts"], None, "no_contact", None, [])
        if consent_missing(row["category"], row):  # withdrawn since it was queued
            FINISHED.labels("skipped").inc()
            return _Done(self._update(row, "skipped", now, reason="no_consent", finished=now))

        template = self._templates[row["template"]]
        body = _json(row["body"])
        language = row["language"]
        if body is None:
            language = row["contact_language"]
            body = render_body(template, _json(row["facts"]), row["family_name"],
                               row["gender"], language, self._sign_name)
        rendered = Rendered(language=language, **body)
        message_id = str(row["id"])
        member = row["member_id"]
        attempts, tries = row["attempts"], []
        sms_only = row["sms_only"]

        result: Result | None = None
        channel, provider = "sms", self._sms.name
        if row["openid_sealed"] is not None and not sms_only:
            openid = self._sealer.open(f"{member}:openid", row["openid_sealed"])
            async with self._limit:
                with metrics.PROVIDER_SECONDS.labels("wechat", self._wechat.name).time():
                    result = await self._wechat.send_template(openid, template, rendered,
                                                              message_id)
            attempts += 1
            channel, provider = "wechat", self._wechat.name
            tries.append(self._attempt(row, attempts, channel, provider, result, now))
            if result.kind == "fallback":
                sms_only = True
                log.info("message %s: WeChat refused (%s), falling back to SMS",
                         message_id, result.code)
        if result is None or result.kind == "fallback":
            mobile = self._sealer.open(f"{member}:mobile", row["mobile_sealed"])
            async with self._limit:
                with metrics.PROVIDER_SECONDS.labels("sms", self._sms.name).time():
                    result = await self._sms.send_sms(mobile, template, rendered, message_id)
            attempts += 1
            channel, provider = "sms", self._sms.name
            tries.append(self._attempt(row, attempts, channel, provider, result, now))

        common = dict(sms_only=sms_only, channel=channel, provider=provider,
                      language=language, body=body)
        settled = settle(result, attempts, self._policy, now)
        if settled.state == "sent":
            FINISHED.labels("sent").inc()
            update = self._update(row, "sent", now, attempts=attempts, finished=None,
                                  provider_message_id=result.provider_message_id, sent_at=now,
                                  **common)
            event = NotificationSent(
                member_id=member, message_id=message_id, template=row["template"],
                cause_event_id=row["cause_id"], channel=channel, provider=provider,
                recipient_masked=row["mobile_masked"] if channel == "sms" else None,
                attempts=attempts, sent_at=now)
            return _Done(update, tries, event, "sent")
        if settled.state == "queued":
            log.info("message %s: %s %s, retry %d at %s", message_id, provider, result.code,
                     attempts, settled.not_before.isoformat(timespec="seconds"))
            return _Done(self._update(row, "queued", settled.not_before, attempts=attempts,
                                      error_code=result.code, **common), tries)
        log.warning("message %s failed: %s %s (%s)", message_id, provider, result.code,
                    settled.reason)
        return self._failed(row, now, attempts, channel, settled.reason, result.code, tries,
                            **{k: v for k, v in common.items() if k != "channel"})

    def _failed(self, row, now, attempts, channel, reason, code, tries, **extra) -> _Done:
        FINISHED.labels("failed").inc()
        update = self._update(row, "failed", now, attempts=attempts, channel=channel,
                              reason=reason, error_code=code, finished=now, **extra)
        event = NotificationFailed(
            member_id=row["member_id"], message_id=str(row["id"]), template=row["template"],
            channel=channel, reason=reason, error_code=code[:64] if code else None,
            failed_at=now)
        return _Done(update, tries, event, "failed")

    @staticmethod
    def _update(row, state: str, not_before: datetime, *, attempts: int | None = None,
                sms_only: bool | None = None, channel: str | None = None,
                provider: str | None = None, provider_message_id: str | None = None,
                reason: str | None = None, error_code: str | None = None,
                language: str | None = None, body: dict | None = None,
                sent_at: datetime | None = None, finished: datetime | None = None
                ) -> sql.MessageUpdate:
        return sql.MessageUpdate(
            id=row["id"], state=state, not_before=not_before,
            attempts=row["attempts"] if attempts is None else attempts,
            sms_only=row["sms_only"] if sms_only is None else sms_only, channel=channel,
            provider=provider, provider_message_id=provider_message_id, reason=reason,
            error_code=error_code, language=language, body=body, sent_at=sent_at,
            finished_at=finished)

    @staticmethod
    def _attempt(row, number: int, channel: str, provider: str, result: Result,
                 now: datetime) -> tuple:
        metrics.PROVIDER_CALLS.labels(channel, provider, result.kind).inc()
        return (row["id"], number, channel, provider, result.kind, result.code or None,
                result.provider_message_id, now)


async def _save(uow: UnitOfWork, done: list[_Done], now: datetime) -> None:
    """Messages' new states, their attempts, and the events they cause (none for a message
    settled meanwhile as interrupted: it has had its event)."""
    updated = await sql.record_sends(uow.conn, [d.update for d in done],
                                     [a for d in done for a in d.attempts])
    for d in done:
        if d.event is not None and d.update.id in updated:
            uow.emit(d.event, key=(str(d.update.id), d.what), time=now)


def _json(value):
    return json.loads(value) if isinstance(value, str) else value
