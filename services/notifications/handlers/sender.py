"""The sender job (SENDER_WORKERS background workers, woken when messages are queued, else
every SENDER_POLL_SECONDS): claims due messages in batches and marks them 'sending' (FOR
UPDATE SKIP LOCKED, committed before any provider call), calls the providers concurrently,
then records every attempt and the message's new state and emits notification.sent /
notification.failed in a second unit of work.

WeChat first when the member has an openid, SMS otherwise, and SMS at once when WeChat
refuses (not following, blocked). Transient errors retry with exponential backoff and
jitter; permanent ones fail at once.

A send a crash interrupted is settled by what the provider received: a sender killed
mid-batch leaves its messages 'sending', and once their lease has run out a sender leases
them again and asks the SMS provider what it received under the message id (Alibaba
Cloud's OutId, Tencent Cloud's SessionContext; providers/base.py `status`): found, the
message is sent (delivered if the provider says so); not found, it is queued to be sent
again at once (bounded by the retry policy's attempts); no answer, it is asked again under
the next lease (or once the provider can tell: Tencent lists a send only once its delivery
report has come), up to max_lookups times, then settled as sent without a second call
(attempt outcome 'unknown'). WeChat cannot be asked (no lookup by our id), so an interrupted
WeChat call is settled so at once: at most once, counted in
loyalty_notifications_interrupted_total{outcome="unknown"}.
An SMS call whose outcome is unknown (it timed out waiting for the answer, or the
connection broke after the request left: `Result.unsure`) is retried with backoff like any
transient failure, but the provider is asked first, from the time of that call
(`unsure_since`, kept across claims): found, settled as sent (delivered if so, reason
'unsure') without a second call; not found, sent; no answer, asked again later, up to
max_lookups claims, then settled as sent without a second call. Counted in
loyalty_notifications_unsure_total. (A WeChat call that timed out is retried without
asking: it cannot be asked.)

Each provider call is a span in the trace the message was planned in (providers/tracing.py),
its HTTP request a CLIENT span inside.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from contracts.base import Event
from contracts.notifications.v1 import NotificationDelivered, NotificationFailed, NotificationSent
from runtime.personal_data import Sealer
from runtime.retry import retry_transient
from runtime.unit_of_work import UnitOfWork

from .. import metrics
from ..clock import Clock
from ..domain.delivery import Lookup, Result, RetryPolicy, gives_up, recover, settle
from ..domain.messages import consent_missing, render_body
from ..domain.templates import Rendered, Template
from ..personal import open_personal
from ..providers.base import SmsProvider, WechatProvider
from ..providers.tracing import outcome, provider_span, traced_lookup
from ..sql import messages as sql

log = logging.getLogger(__name__)
#: How soon a message waiting for its member's contact data looks again.
CONTACT_RECHECK = timedelta(seconds=30)
#: `Sender._update`'s default: the message's unsure_since as it is.
_KEEP = object()


@dataclass
class _Done:
    update: sql.MessageUpdate
    attempts: list[tuple] = field(default_factory=list)
    #: The event it causes; its id is keyed by (message id, `what`: "sent" or "failed").
    event: Event | None = None
    what: str = ""
    #: A second one (notification.delivered when a lookup found it delivered).
    also: tuple[Event, str] | None = None


class Sender:
    def __init__(self, *, unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
                 clock: Clock, templates: Mapping[str, Template], sign_name: str,
                 sealer: Sealer, wechat: WechatProvider, sms: SmsProvider, policy: RetryPolicy,
                 batch_size: int = 500, concurrency: int = 64, workers: int = 1,
                 poll_seconds: float = 0.5, contact_wait: timedelta = timedelta(minutes=10),
                 lease: timedelta = timedelta(seconds=30), max_lookups: int = 5) -> None:
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
        self._max_lookups = max_lookups
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
        await self._recover_interrupted(now)
        async with self._unit_of_work() as uow:  # the 'sending' marks, committed first
            rows = await sql.claim_due(uow.conn, now, self._batch_size, now + self._lease)
        if not rows:
            return 0
        done = await asyncio.gather(*(self._send_guarded(row, now) for row in rows))
        await self._record(done, now)
        return len(rows)

    async def _record(self, done: list[_Done], now: datetime) -> None:
        async def record() -> None:
            async with self._unit_of_work() as uow:
                await _save(uow, done, now)
        # The calls are made: what they answered is kept through a database restart (else
        # the lease runs out and they count as interrupted, their answers lost).
        await retry_transient("notifications sender record", record, max_attempts=8)

    async def _recover_interrupted(self, now: datetime) -> None:
        """Messages a dead sender left 'sending': leased again (committed), the provider
        asked about each, and settled by its answer (see the module docstring)."""
        async with self._unit_of_work() as uow:
            rows = await sql.claim_interrupted(uow.conn, now, self._batch_size,
                                               now + self._lease)
        if rows:
            done = await asyncio.gather(*(self._recover(row, now) for row in rows))
            await self._record([d for d in done if d is not None], now)

    async def _recover(self, row: asyncpg.Record, now: datetime) -> _Done | None:
        """None: no answer yet, it stays 'sending' until its new lease runs out."""
        if row["mobile_masked"] is None or consent_missing(row["category"], row):
            return _Done(self._update(row, "queued", now))  # no call was made: decide anew
        wechat = row["openid_sealed"] is not None and not row["sms_only"]
        channel, provider = ("wechat", self._wechat.name) if wechat else ("sms", self._sms.name)
        mid = str(row["id"])
        lookup: Lookup | None = None
        if not wechat:  # WeChat has no lookup by our id
            try:
                mobile = self._sealer.open(f"{row['member_id']}:mobile", row["mobile_sealed"])
            except Exception as exc:  # e.g. sealed under a retired key: bounded as no answer
                lookup = Lookup(None, code=type(exc).__name__)
            else:  # since the earliest call it may have got (an unsure one before)
                lookup = await self._lookup(row, mobile, row["unsure_since"] or row["sending_at"]
                                            or now - 2 * self._lease, now)
        decided = recover(lookup, row["lookups"], self._max_lookups,
                          same_number=row["same_number"])
        metrics.INTERRUPTED.labels(channel, provider, decided).inc()
        if decided == "later":
            log.info("message %s: its sender died during the %s call; %s could not say"
                     " (%s), asking again later", mid, provider, provider, lookup.code)
            if lookup.ask_after is not None and lookup.ask_after > now + self._lease:
                return _Done(self._update(row, "sending", lookup.ask_after))  # a longer lease
            return None
        attempts = row["attempts"] + 1
        if decided == "resend":
            log.warning("message %s: its sender died before %s got it; sending it again",
                        mid, provider)
            metrics.PROVIDER_CALLS.labels(channel, provider, "transient").inc()
            tries = [(row["id"], attempts, channel, provider, "transient", "not_received",
                      None, now)]
            if gives_up(attempts, self._policy):
                return self._failed(row, now, attempts, channel, "retries_exhausted",
                                    "not_received", tries, provider=provider)
            return _Done(self._update(row, "queued", now, attempts=attempts, channel=channel,
                                      provider=provider, error_code="not_received",
                                      unsure_since=None), tries)
        known = decided != "unknown"
        log.warning("message %s: its sender died during the %s call; %s", mid, provider,
                    "the provider has it" if known else "counted as sent, not sent again")
        return self._settled(row, now, lookup, decided, channel, provider, attempts,
                             "interrupted")

    def _settled(self, row, now: datetime, lookup: Lookup | None, decided: str, channel: str,
                 provider: str, attempts: int, reason: str) -> _Done:
        """Settled without a (second) call by what the provider said: sent, delivered, or
        (`decided` "unknown") counted as sent. `attempts` numbers the call it settles."""
        known = decided != "unknown"
        metrics.PROVIDER_CALLS.labels(channel, provider, "sent" if known else "unknown").inc()
        metrics.FINISHED.labels("sent").inc()
        mid = str(row["id"])
        state = "delivered" if decided == "delivered" else "sent"
        update = self._update(row, state, now, attempts=attempts, channel=channel,
                              provider=provider, reason=reason, sent_at=now,
                              provider_message_id=lookup.provider_message_id if known else None,
                              finished=now if state == "delivered" else None, unsure_since=None)
        event = NotificationSent(
            member_id=row["member_id"], message_id=mid, template=row["template"],
            cause_event_id=row["cause_id"], channel=channel, provider=provider,
            recipient_masked=row["mobile_masked"] if channel == "sms" else None,
            attempts=attempts, sent_at=now)
        attempt = (row["id"], attempts, channel, provider, "sent" if known else "unknown",
                   (lookup.code[:64] or "found") if known else reason, None, now)
        delivered = NotificationDelivered(member_id=row["member_id"], message_id=mid,
                                          channel=channel, provider=provider, delivered_at=now)
        return _Done(update, [attempt], event, "sent",
                     (delivered, "receipt") if state == "delivered" else None)

    async def _lookup(self, row, mobile: str, since: datetime, now: datetime) -> Lookup:
        async with self._limit:
            return await traced_lookup(self._sms, row["traceparent"], str(row["id"]), mobile,
                                       since, now)

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
        if row["mobile_masked"] is None:  # no contact data (yet, or any more)
            if now - row["created_at"] < self._contact_wait:
                return _Done(self._update(row, "queued", now + CONTACT_RECHECK))
            return self._failed(row, now, row["attempts"], None, "no_contact", None, [])
        if consent_missing(row["category"], row):  # withdrawn since it was queued
            metrics.FINISHED.labels("skipped").inc()
            return _Done(self._update(row, "skipped", now, reason="no_consent", finished=now))

        template = self._templates[row["template"]]
        body = _json(row["body"])
        language = row["language"]
        if body is None:
            language = row["contact_language"]
            personal = open_personal(self._sealer, row["member_id"], row["personal_sealed"])
            body = render_body(template, _json(row["facts"]), personal.family_name,
                               personal.gender, language, self._sign_name)
        rendered = Rendered(language=language, **body)
        message_id = str(row["id"])
        member = row["member_id"]
        attempts, tries = row["attempts"], []
        sms_only = row["sms_only"]

        result: Result | None = None
        channel, provider = "sms", self._sms.name
        if row["openid_sealed"] is not None and not sms_only:
            openid = self._sealer.open(f"{member}:openid", row["openid_sealed"])
            result = await self._call(row, "wechat", self._wechat.name, lambda: (
                self._wechat.send_template(openid, template, rendered, message_id)))
            attempts += 1
            channel, provider = "wechat", self._wechat.name
            tries.append(self._attempt(row, attempts, channel, provider, result, now))
            if result.kind == "fallback":
                sms_only = True
                log.info("message %s: WeChat refused (%s), falling back to SMS",
                         message_id, result.code)
        unsure_since = row["unsure_since"]
        if result is None or result.kind == "fallback":
            mobile = self._sealer.open(f"{member}:mobile", row["mobile_sealed"])
            if unsure_since is not None:  # the last call's outcome is unknown: ask first
                asked = await self._ask_first(row, mobile, unsure_since, now, attempts, tries,
                                              sms_only)
                if asked is not None:
                    return asked
            result = await self._call(row, "sms", self._sms.name, lambda: (
                self._sms.send_sms(mobile, template, rendered, message_id)))
            attempts += 1
            channel, provider = "sms", self._sms.name
            tries.append(self._attempt(row, attempts, channel, provider, result, now))
            unsure_since = now if result.unsure else None

        common = dict(sms_only=sms_only, channel=channel, provider=provider,
                      language=language, body=body, unsure_since=unsure_since)
        settled = settle(result, attempts, self._policy, now)
        if settled.state == "sent":
            metrics.FINISHED.labels("sent").inc()
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

    async def _ask_first(self, row, mobile: str, since: datetime, now: datetime,
                         attempts: int, tries: list, sms_only: bool) -> _Done | None:
        """Before an SMS is sent again after a call whose outcome is unknown (timed out,
        connection broken): the provider is asked. None: it never got it, send it."""
        provider = self._sms.name
        lookup = await self._lookup(row, mobile, since, now)
        decided = recover(lookup, row["lookups"], self._max_lookups,
                          same_number=row["same_number"])
        metrics.UNSURE.labels("sms", provider, decided).inc()
        if decided == "resend":
            return None
        mid = str(row["id"])
        if decided == "later":
            log.info("message %s: its last %s call timed out and %s cannot say yet (%s);"
                     " asking again later", mid, provider, provider, lookup.code)
            return _Done(self._update(row, "queued", lookup.ask_after or now + self._lease,
                                      attempts=attempts, sms_only=sms_only), tries)
        log.warning("message %s: its last %s call timed out; %s", mid, provider,
                    "the provider has it" if decided != "unknown"
                    else "no answer, counted as sent, not sent again")
        done = self._settled(row, now, lookup, decided, "sms", provider, attempts, "unsure")
        done.attempts[:0] = tries
        return done

    async def _call(self, row: asyncpg.Record, channel: str, provider: str,
                    call: Callable[[], Awaitable[Result]]) -> Result:
        """One provider call: a span in the message's trace, a call slot, timed."""
        with provider_span(row["traceparent"], channel, provider, "send",
                           str(row["id"])) as span:
            async with self._limit:
                with metrics.PROVIDER_SECONDS.labels(channel, provider).time():
                    result = await call()
            outcome(span, result.kind, result.code)
        return result

    def _failed(self, row, now, attempts, channel, reason, code, tries, **extra) -> _Done:
        metrics.FINISHED.labels("failed").inc()
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
                sent_at: datetime | None = None, finished: datetime | None = None,
                unsure_since: Any = _KEEP) -> sql.MessageUpdate:
        return sql.MessageUpdate(
            id=row["id"], state=state, not_before=not_before,
            attempts=row["attempts"] if attempts is None else attempts,
            sms_only=row["sms_only"] if sms_only is None else sms_only, channel=channel,
            provider=provider, provider_message_id=provider_message_id, reason=reason,
            error_code=error_code, language=language, body=body, sent_at=sent_at,
            finished_at=finished,
            # kept unless given: a lookup still owed stays owed
            unsure_since=row["unsure_since"] if unsure_since is _KEEP else unsure_since)

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
            if d.also is not None:
                uow.emit(d.also[0], key=(str(d.update.id), d.also[1]), time=now)


def _json(value):
    return json.loads(value) if isinstance(value, str) else value
