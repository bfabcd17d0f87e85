"""The notifications service on the real broker and database with the sandbox providers:
WeChat for bound members, SMS otherwise and as fallback; nothing twice under redelivery;
outages delay without loss; an invalid number fails once; no personal data in logs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from contracts.topics import MEMBERS_V1, NOTIFICATIONS_V1
from runtime.relay import wait_until_drained
from tests.integration.kafka_tools import read_topic
from tests.integration.test_notifications_support import (
    DAYTIME,
    contact,
    members,
    notifications_world,
    remember,
    upgrade,
)

pytestmark = pytest.mark.integration


async def test_tier_upgrade_by_wechat_when_bound_by_sms_otherwise_and_as_fallback(infra, pii):
    async with notifications_world(infra, DAYTIME) as w:
        bound, unbound, unfollowed = (members(1, wechat=True), members(1, wechat=False),
                                      members(1, wechat=True))
        remember(pii, bound, unbound, unfollowed)
        w.sandbox.faults.not_following.add(unfollowed[0].openid)
        await w.contacts([contact(bound[0]), contact(unbound[0], family="李", gender="female"),
                          contact(unfollowed[0], gender="unknown", language="en-US")])
        await w.send(MEMBERS_V1, [upgrade(m[0]) for m in (bound, unbound, unfollowed)])
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=3)

        [wechat] = w.sent_to(bound[0].openid)
        assert (wechat["channel"], wechat["fields"]["thing2"]) == ("wechat", "升级为金卡")
        assert w.sent_to(bound[0].mobile) == []
        [sms] = w.sent_to(unbound[0].mobile)
        assert sms["text"].startswith("【XX银行】李女士，恭喜您自2026-03-01起升级为金卡会员")
        [fallback] = w.sent_to(unfollowed[0].mobile)
        assert fallback["text"].startswith("【XX银行】Dear customer, congratulations")
        attempts = await w.service.pool.fetch(
            "SELECT a.channel, outcome, code FROM message_attempts a JOIN messages m"
            " ON m.id = a.message_id WHERE m.member_id = $1 ORDER BY attempt", unfollowed[0].id)
        assert [tuple(a) for a in attempts] == [("wechat", "fallback", "43004"),
                                                 ("sms", "sent", "OK")]

        await wait_until_drained(w.service.pool)
        records = await read_topic(w.bootstrap, w.service.topic(NOTIFICATIONS_V1),
                                   until=lambda kept: len(kept) >= 3, settle=1.0)
        events = [json.loads(r.value) for r in records]
        assert sorted((e["member_id"], e["channel"]) for e in events) == sorted(
            [(bound[0].id, "wechat"), (unbound[0].id, "sms"), (unfollowed[0].id, "sms")])
        raw = b"".join(r.value for r in records).decode()
        assert all(secret not in raw for secret in pii)
        assert {e.get("recipient_masked") for e in events if e["channel"] == "sms"} == {
            f"{m.digits[:3]}****{m.digits[-4:]}" for m in (unbound[0], unfollowed[0])}


async def test_a_redelivered_event_sends_nothing_twice(infra, pii):
    async with notifications_world(infra, DAYTIME) as w:
        group = members(3, wechat=False)
        remember(pii, group)
        await w.contacts([contact(m) for m in group])
        events = [upgrade(m) for m in group]
        await w.send(MEMBERS_V1, events + events[:2])  # duplicates in the same delivery
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=3)
        await w.send(MEMBERS_V1, events)  # redelivered after they were sent
        await w.until("SELECT count(*) FROM inbox", expected=3)
        await _settle(w)
        assert await w.count("SELECT count(*) FROM messages") == 3
        assert await w.count("SELECT count(*) FROM message_attempts") == 3
        assert sorted(m["to"] for m in w.sandbox.sent) == sorted(m.mobile for m in group)


async def test_a_provider_outage_delays_and_then_delivers_without_loss(infra, pii):
    async with notifications_world(infra, DAYTIME) as w:
        group = members(10, wechat=False) + members(10, wechat=True)
        remember(pii, group)
        await w.contacts([contact(m) for m in group])
        w.sandbox.faults.outage = True
        await w.send(MEMBERS_V1, [upgrade(m) for m in group])
        await w.until("SELECT count(*) FROM messages WHERE attempts >= 1 AND state = 'queued'",
                      expected=20, what="every message tried once and held for a retry")
        assert w.sandbox.sent == []
        retry_at = await w.count("SELECT min(not_before) FROM messages")
        assert retry_at > w.clock.now()  # backed off, not hammering the provider

        w.sandbox.faults.outage = False
        w.clock.advance(timedelta(minutes=5))  # past the first backoff (at most 60 s)
        w.service.sender.wake()
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=20)
        assert sorted(m["to"] for m in w.sandbox.sent) == sorted(
            m.openid or m.mobile for m in group)
        assert await w.count("SELECT count(*) FROM message_attempts WHERE outcome = 'transient'"
                             ) == 20


@pytest.mark.parametrize(("provider", "code"), [
    ("aliyun", "isv.MOBILE_NUMBER_ILLEGAL"),
    ("tencent", "InvalidParameterValue.IncorrectPhoneNumber"),
])
async def test_an_invalid_number_fails_once_without_retries(infra, pii, provider, code):
    async with notifications_world(infra, DAYTIME, sms_provider=provider) as w:
        [member] = members(1, wechat=False)
        remember(pii, [member])
        w.sandbox.faults.invalid_numbers.add(member.mobile)
        await w.contacts([contact(member)])
        await w.send(MEMBERS_V1, [upgrade(member)])
        await w.until("SELECT count(*) FROM messages WHERE state = 'failed'")
        calls = w.sandbox.calls
        w.clock.advance(timedelta(days=1))
        w.service.sender.wake()
        await _settle(w)
        assert w.sandbox.calls == calls == 1
        row = await w.service.pool.fetchrow("SELECT attempts, reason, error_code FROM messages")
        assert tuple(row) == (1, "invalid_number", code)

        await wait_until_drained(w.service.pool)
        [record] = await read_topic(w.bootstrap, w.service.topic(NOTIFICATIONS_V1),
                                    until=lambda kept: len(kept) >= 1, settle=0.5)
        failed = json.loads(record.value)
        assert (failed["reason"], failed["channel"]) == ("invalid_number", "sms")
        assert dict(record.headers)["ce_type"] == b"notification.failed"


async def test_an_event_before_the_members_contact_waits_for_it(infra, pii):
    async with notifications_world(infra, DAYTIME) as w:
        early, never = members(2, wechat=False)
        remember(pii, [early, never])
        await w.send(MEMBERS_V1, [upgrade(early), upgrade(never)])
        await w.until("SELECT count(*) FROM messages WHERE body IS NULL AND state = 'queued'",
                      expected=2, what="queued without contact data")
        await w.contacts([contact(early, family="赵")])
        w.clock.advance(timedelta(minutes=1))  # the sender looks again every 30 s
        w.service.sender.wake()
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'")
        [sms] = w.sent_to(early.mobile)
        assert sms["text"].startswith("【XX银行】赵先生")

        w.clock.advance(timedelta(minutes=10))  # past CONTACT_WAIT_SECONDS
        w.service.sender.wake()
        await w.until("SELECT count(*) FROM messages WHERE state = 'failed'")
        row = await w.service.pool.fetchrow(
            "SELECT reason, attempts FROM messages WHERE member_id = $1", never.id)
        assert tuple(row) == ("no_contact", 0)


async def _settle(w, seconds: float = 0.5) -> None:
    """Let the sender look again (it would send anything still due)."""
    import asyncio

    w.service.sender.wake()
    await asyncio.sleep(seconds)
    await w.service.sender.run_once()
