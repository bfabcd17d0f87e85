"""Nothing lost, nothing twice around the providers, on the real broker and database with
the sandbox providers: a delivery receipt that never came is made good by asking the
provider (the receipt lookup job), exactly as the receipt would have settled it, and a real
receipt arriving late after that changes nothing; an SMS call that timed out is not simply
sent again: the provider is asked first, so one it got is not sent twice and one it never
got is sent once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from prometheus_client import REGISTRY

from contracts.topics import MEMBERS_V1, NOTIFICATIONS_V1
from runtime.relay import wait_until_drained
from tests.integration.kafka_tools import eventually, read_topic
from tests.integration.test_notifications_support import (
    DAYTIME,
    contact,
    members,
    notifications_world,
    remember,
    upgrade,
)

pytestmark = pytest.mark.integration

#: The lookup job only when a test runs it (it also runs once at start, finding nothing).
JOB = {"receipt_lookup_every_seconds": 3600, "receipt_lookup_after_seconds": 600,
       "receipt_lookup_max": 3}


def lookups(provider: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("loyalty_notification_receipt_lookups_total", {
        "provider": provider, "outcome": outcome}) or 0.0


async def events_by_kind(w, expected: int) -> Counter:
    await wait_until_drained(w.service.pool)
    records = await read_topic(w.bootstrap, w.service.topic(NOTIFICATIONS_V1),
                               until=lambda kept: len(kept) >= expected, settle=1.0)
    return Counter((json.loads(r.value)["message_id"], dict(r.headers)["ce_type"])
                   for r in records)


@pytest.mark.parametrize("sms_provider", ["aliyun", "tencent"])
async def test_a_lost_receipt_is_looked_up_and_a_late_one_changes_nothing(
        infra, pii, sms_provider):
    async with notifications_world(infra, DAYTIME, receipts=True, sms_provider=sms_provider,
                                   **JOB) as w:
        group = members(3, wechat=False)
        remember(pii, group)
        await w.contacts([contact(m) for m in group])
        w.sandbox.faults.drop_receipts = True  # the service was down when they were pushed
        delivered_before = lookups(sms_provider, "delivered")
        await w.send(MEMBERS_V1, [upgrade(m) for m in group])
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=3)
        job = w.service.receipt_lookups

        assert await job.run_once() == 0  # too young: its receipt may still come
        w.clock.advance(timedelta(minutes=11))
        assert await job.run_once() == 3
        assert await w.count("SELECT count(*) FROM messages WHERE state = 'delivered'"
                             " AND finished_at IS NOT NULL") == 3
        assert lookups(sms_provider, "delivered") - delivered_before == 3
        assert await job.run_once() == 0  # settled: not asked again

        # The real receipts come after all: recorded, and nothing changes.
        w.sandbox.faults.drop_receipts = False
        for entry in w.sandbox.sent:
            w.reporter.add(entry)
        await w.until("SELECT count(*) FROM delivery_receipts", expected=6,
                      what="the late receipts recorded")
        assert await w.count("SELECT count(*) FROM delivery_receipts"
                             " WHERE message_id IS NOT NULL") == 6
        assert await w.count("SELECT count(*) FROM messages WHERE state = 'delivered'") == 3

        events = await events_by_kind(w, 6)
        assert set(events.values()) == {1}
        assert Counter(kind for _, kind in events) == {
            b"notification.sent": 3, b"notification.delivered": 3}
        assert len(w.sandbox.sent) == 3


async def test_a_receipt_lookup_without_an_answer_is_bounded_and_left_sent(infra, pii):
    async with notifications_world(infra, DAYTIME, **JOB) as w:
        group = members(2, wechat=False)
        remember(pii, group)
        await w.contacts([contact(m) for m in group])
        await w.send(MEMBERS_V1, [upgrade(m) for m in group])
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=2)
        gave_up = lookups("aliyun", "gave_up")
        w.sandbox.faults.outage = True  # every lookup answered 503
        job = w.service.receipt_lookups

        for n in range(1, 4):  # receipt_lookup_max, each after_seconds apart
            w.clock.advance(timedelta(minutes=11))
            assert await job.run_once() == 0
            assert await w.count("SELECT count(*) FROM messages WHERE state = 'sent'"
                                 f" AND receipt_lookups = {n}") == 2
        assert lookups("aliyun", "gave_up") - gave_up == 2
        w.clock.advance(timedelta(minutes=11))
        w.sandbox.faults.outage = False
        assert await job.run_once() == 0  # given up: not asked again
        assert await w.count("SELECT count(*) FROM messages WHERE state = 'sent'"
                             " AND receipt_lookups = 3") == 2


class TimesOut:
    """The HTTP to the provider: a SendSms call's answer never comes (a read timeout), after
    the provider got the request (`reached`) or before it left; lookups go through."""

    def __init__(self, http, *, reached: bool) -> None:
        self.http = http
        self.reached = reached

    async def request(self, method, url, *, headers=None, content=b""):
        sending = (headers or {}).get("X-TC-Action") == "SendSms" or b"Action=SendSms" in content
        if sending and not self.reached:
            raise httpx.ReadTimeout("provider did not answer in time")
        answer = await self.http.request(method, url, headers=headers, content=content)
        if sending:
            raise httpx.ReadTimeout("provider did not answer in time")
        return answer

    async def aclose(self) -> None:
        await self.http.aclose()


async def time_out_once(w, group, *, reached: bool) -> None:
    """The group's messages sent with every SMS call timing out, then the network mended."""
    sms = w.service.sender._sms
    http, sms._client = sms._client, TimesOut(sms._client, reached=reached)
    try:
        await w.send(MEMBERS_V1, [upgrade(m) for m in group])
        await w.until("SELECT count(*) FROM messages WHERE state = 'queued'"
                      " AND unsure_since IS NOT NULL", expected=len(group),
                      what="the timed-out calls queued for a retry")
    finally:
        sms._client = http


async def run_until(w, sql: str, expected: int, what: str) -> None:
    async def reached() -> bool:
        await w.service.sender.run_once()
        return await w.count(sql) == expected
    await eventually(reached, timeout=30, what=what)


@pytest.mark.parametrize("sms_provider", ["aliyun", "tencent"])
async def test_a_timed_out_call_the_provider_got_is_not_sent_again(infra, pii, sms_provider):
    async with notifications_world(infra, DAYTIME, sms_provider=sms_provider, **JOB) as w:
        group = members(2, wechat=False)
        remember(pii, group)
        await w.contacts([contact(m) for m in group])
        await time_out_once(w, group, reached=True)
        assert len(w.sandbox.sent) == 2  # they did arrive

        w.clock.advance(timedelta(minutes=2))  # past the retry's backoff
        await run_until(w, "SELECT count(*) FROM messages WHERE state = 'delivered'", 2,
                        "settled by the lookup")
        assert len(w.sandbox.sent) == 2  # not sent again
        rows = await w.service.pool.fetch(
            "SELECT m.reason, m.unsure_since, a.attempt, a.outcome, a.code FROM messages m"
            " JOIN message_attempts a ON a.message_id = m.id ORDER BY m.id, a.id")
        delivered = "DELIVERED" if sms_provider == "aliyun" else "DELIVRD"
        assert [tuple(r) for r in rows] == [
            ("unsure", None, 1, "transient", "ReadTimeout"),
            ("unsure", None, 1, "sent", delivered)] * 2

        events = await events_by_kind(w, 4)
        assert set(events.values()) == {1}
        assert Counter(kind for _, kind in events) == {
            b"notification.sent": 2, b"notification.delivered": 2}


@pytest.mark.parametrize("sms_provider", ["aliyun", "tencent"])
async def test_a_timed_out_call_the_provider_never_got_is_sent_once(infra, pii, sms_provider):
    async with notifications_world(infra, DAYTIME, sms_provider=sms_provider, **JOB) as w:
        group = members(2, wechat=False)
        remember(pii, group)
        await w.contacts([contact(m) for m in group])
        await time_out_once(w, group, reached=False)
        assert w.sandbox.sent == []

        w.clock.advance(timedelta(minutes=2))  # past the retry's backoff
        if sms_provider == "tencent":  # its reports may still come: asked again once they must
            await run_until(w, "SELECT count(*) FROM messages WHERE state = 'queued'"
                            " AND not_before = unsure_since + interval '10 minutes'", 2,
                            "queued until Tencent's reports must have come")
            w.clock.advance(timedelta(minutes=10))
        await run_until(w, "SELECT count(*) FROM messages WHERE state = 'sent'", 2,
                        "sent after the lookup")
        for m in group:
            assert len(w.sent_to(m.mobile)) == 1
        rows = await w.service.pool.fetch(
            "SELECT m.unsure_since, a.attempt, a.outcome, a.code FROM messages m"
            " JOIN message_attempts a ON a.message_id = m.id ORDER BY m.id, a.id")
        assert [tuple(r) for r in rows] == [
            (None, 1, "transient", "ReadTimeout"),
            (None, 2, "sent", "OK" if sms_provider == "aliyun" else "Ok")] * 2

        events = await events_by_kind(w, 2)
        assert set(events.values()) == {1}
        assert Counter(kind for _, kind in events) == {b"notification.sent": 2}
