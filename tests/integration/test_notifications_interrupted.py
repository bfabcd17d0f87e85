"""A sender killed mid-call (kill -9 mid-batch, as the fault suite does it) on the real
broker and database: the messages stay marked 'sending', and once their lease has run out
the SMS provider is asked what it received under the message id (the sandbox answers from
what it really got). A send that reached it is not sent again; one that never did is sent,
exactly once in the end, unless the member's number changed since the call (the lookup
searches the new number, so its "not found" proves nothing); a lookup that keeps failing is
bounded, then settled as sent without a second call, as an interrupted WeChat call always is
(WeChat cannot be asked: at most once). notification.sent goes out once each."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from contracts.topics import MEMBER_CONTACTS_V1, MEMBERS_V1, NOTIFICATIONS_V1
from runtime.relay import wait_until_drained
from tests.integration.kafka_tools import eventually, read_topic
from tests.integration.test_notifications_support import (
    DAYTIME,
    SHANGHAI,
    contact,
    members,
    notifications_world,
    remember,
    upgrade,
)

pytestmark = pytest.mark.integration


class Killed(BaseException):
    """The process dies: nothing after the provider's answer runs (not even except
    Exception)."""


class DiesAfterTheCall:
    """A provider whose caller is killed right after the real provider accepted."""

    def __init__(self, provider) -> None:
        self.provider = provider
        self.name = provider.name

    async def send_sms(self, *args):
        await self.provider.send_sms(*args)
        raise Killed

    async def send_template(self, *args):
        await self.provider.send_template(*args)
        raise Killed

    async def status(self, *args):
        return await self.provider.status(*args)


class DiesBeforeTheCall(DiesAfterTheCall):
    """A provider whose caller is killed before its request has left."""

    async def send_sms(self, *args):
        raise Killed

    async def send_template(self, *args):
        raise Killed


async def kill_mid_call(w, group, provider_class) -> tuple:
    """The batch's sender killed at each call; returns the providers to restore."""
    sender = w.service.sender
    sms, wechat = sender._sms, sender._wechat
    sender._sms, sender._wechat = provider_class(sms), provider_class(wechat)
    await w.send(MEMBERS_V1, [upgrade(m) for m in group])
    await w.until("SELECT count(*) FROM messages WHERE state = 'sending'",
                  expected=len(group), what="the killed batch left marked 'sending'")
    return sms, wechat


async def run_until(w, sql: str, expected: int, what: str) -> None:
    """The restarted sender's rounds (the killed workers are gone) until `sql` counts
    `expected`."""
    async def reached() -> bool:
        await w.service.sender.run_once()
        return await w.count(sql) == expected
    await eventually(reached, timeout=30, what=what)


def interrupted(channel: str, provider: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("loyalty_notifications_interrupted_total", {
        "channel": channel, "provider": provider, "outcome": outcome}) or 0.0


async def test_a_send_interrupted_after_the_provider_accepted_is_not_sent_again(infra, pii):
    async with notifications_world(infra, DAYTIME) as w:
        group = members(3, wechat=False) + members(2, wechat=True)
        remember(pii, group)
        await w.contacts([contact(m) for m in group])
        sender = w.service.sender
        sms, wechat = sender._sms, sender._wechat
        sender._sms, sender._wechat = DiesAfterTheCall(sms), DiesAfterTheCall(wechat)
        await w.send(MEMBERS_V1, [upgrade(m) for m in group])

        async def all_accepted() -> bool:
            return len(w.sandbox.sent) == len(group)
        await eventually(all_accepted, timeout=20, what="every message at the provider")
        await w.until("SELECT count(*) FROM messages WHERE state = 'sending'",
                      expected=len(group), what="the killed batch left marked 'sending'")

        sender._sms, sender._wechat = sms, wechat  # "restarted"
        assert await sender.run_once() == 0  # within the lease: left alone
        w.clock.advance(timedelta(minutes=1))  # past the lease (4 x 5 s + 10 s)
        await sender.run_once()
        # 'delivered' once the sandbox's receipt for an accepted SMS has come back
        await w.until("SELECT count(*) FROM messages WHERE state IN ('sent', 'delivered')",
                      expected=len(group))

        assert Counter(m["message_id"] for m in w.sandbox.sent).most_common(1)[0][1] == 1
        assert sorted(m["to"] for m in w.sandbox.sent) == sorted(
            m.openid or m.mobile for m in group)
        rows = await w.service.pool.fetch(
            "SELECT m.reason, m.channel, a.outcome FROM messages m"
            " JOIN message_attempts a ON a.message_id = m.id")
        # The SMS provider was asked and had them (the sandbox delivers at once); WeChat
        # cannot be asked.
        assert sorted(tuple(r) for r in rows) == sorted(
            [("interrupted", "sms", "sent")] * 3 + [("interrupted", "wechat", "unknown")] * 2)
        assert await w.count("SELECT count(*) FROM messages WHERE state = 'delivered'"
                             " AND channel = 'sms'") == 3

        # A message queued after the restart goes out as usual, once.
        [late] = members(1, wechat=False)
        remember(pii, [late])
        await w.send(MEMBER_CONTACTS_V1, [contact(late)])
        await w.until("SELECT count(*) FROM contacts", expected=len(group) + 1)
        await w.send(MEMBERS_V1, [upgrade(late)])
        await run_until(w, "SELECT count(*) FROM messages WHERE state IN ('sent', 'delivered')",
                        len(group) + 1, "the late message sent")
        assert len(w.sent_to(late.mobile)) == 1
        assert await w.count("SELECT count(*) FROM messages WHERE state = 'sent'") == 3

        await wait_until_drained(w.service.pool)
        # notification.sent once each, and notification.delivered for the SMS the provider
        # said it had delivered when asked
        records = await read_topic(w.bootstrap, w.service.topic(NOTIFICATIONS_V1),
                                   until=lambda kept: len(kept) >= len(group) + 4, settle=1.0)
        events = Counter((json.loads(r.value)["message_id"], dict(r.headers)["ce_type"])
                         for r in records)
        assert set(events.values()) == {1}
        sent = Counter(m for m, kind in events if kind == b"notification.sent")
        assert len(sent) == len(group) + 1 and set(sent.values()) == {1}
        assert Counter(kind for _, kind in events) == {
            b"notification.sent": len(group) + 1, b"notification.delivered": 3}


@pytest.mark.parametrize("sms_provider", ["aliyun", "tencent"])
async def test_a_send_interrupted_before_it_reached_the_provider_is_sent_once_in_the_end(
        infra, pii, sms_provider):
    async with notifications_world(infra, DAYTIME, sms_provider=sms_provider) as w:
        texts, chats = members(3, wechat=False), members(2, wechat=True)
        group = texts + chats
        remember(pii, group)
        await w.contacts([contact(m) for m in group])
        lost_chats = interrupted("wechat", "wechat", "unknown")
        sender = w.service.sender
        sender._sms, sender._wechat = await kill_mid_call(w, group, DiesBeforeTheCall)
        assert w.sandbox.sent == []

        w.clock.advance(timedelta(minutes=1))  # past the lease
        if sms_provider == "tencent":  # its reports may still come: asked again once they must
            await run_until(w, "SELECT count(*) FROM messages WHERE state = 'sending'"
                            " AND not_before = sending_at + interval '10 minutes'", len(texts),
                            "leased until Tencent's reports must have come")
            w.clock.advance(timedelta(minutes=10))
        await run_until(w, "SELECT count(*) FROM messages WHERE state IN ('sent', 'delivered')",
                        len(group), "every message settled")

        for m in texts:  # the provider never had it: sent again, once
            assert len(w.sent_to(m.mobile)) == 1
        for m in chats:  # WeChat cannot be asked: settled as sent, not called again
            assert w.sent_to(m.openid) == []
        assert Counter(m["message_id"] for m in w.sandbox.sent).most_common(1)[0][1] == 1
        rows = await w.service.pool.fetch(
            "SELECT m.channel, m.reason, a.attempt, a.outcome, a.code FROM messages m"
            " JOIN message_attempts a ON a.message_id = m.id ORDER BY m.channel, a.attempt")
        assert sorted(tuple(r) for r in rows) == sorted(
            [("sms", None, 1, "transient", "not_received")] * 3
            + [("sms", None, 2, "sent", "OK" if sms_provider == "aliyun" else "Ok")] * 3
            + [("wechat", "interrupted", 1, "unknown", "interrupted")] * 2)
        assert interrupted("wechat", "wechat", "unknown") - lost_chats == 2

        await wait_until_drained(w.service.pool)
        records = await read_topic(w.bootstrap, w.service.topic(NOTIFICATIONS_V1),
                                   until=lambda kept: len(kept) >= len(group), settle=1.0)
        sent = Counter(json.loads(r.value)["message_id"] for r in records)
        assert len(sent) == len(group) and set(sent.values()) == {1}


async def test_a_send_interrupted_before_a_number_change_is_not_sent_again_to_the_new_number(
        infra, pii):
    async with notifications_world(infra, DAYTIME) as w:
        group = await two_texts_at_the_provider_their_sender_killed(w, pii)
        moved = [replace(m, mobile=f"+86139{m.digits[3:]}") for m in group]
        remember(pii, moved)
        await w.contacts([contact(m, at=datetime(2026, 2, 1, tzinfo=SHANGHAI)) for m in moved])
        await w.until("SELECT count(*) FROM contacts WHERE mobile_masked LIKE '139%'",
                      expected=len(group), what="the new numbers stored")

        w.clock.advance(timedelta(minutes=1))  # past the lease: the new number is looked up
        await run_until(w, "SELECT count(*) FROM messages WHERE state = 'sent'", len(group),
                        "settled without a second call")

        assert len(w.sandbox.sent) == len(group)  # sent once, to the old numbers
        for m in moved:
            assert w.sent_to(m.mobile) == []
        rows = await w.service.pool.fetch(
            "SELECT m.reason, a.outcome FROM messages m"
            " JOIN message_attempts a ON a.message_id = m.id")
        assert [tuple(r) for r in rows] == [("interrupted", "unknown")] * len(group)


async def test_a_lookup_that_keeps_failing_is_bounded_then_settled_without_a_second_call(
        infra, pii):
    async with notifications_world(infra, DAYTIME) as w:
        group = await two_texts_at_the_provider_their_sender_killed(w, pii)
        sender = w.service.sender
        w.sandbox.faults.outage = True  # every lookup answered 503

        for lookups in range(1, sender._max_lookups):  # asked again under each new lease
            w.clock.advance(timedelta(minutes=1))
            await run_until(w, f"SELECT count(*) FROM messages WHERE state = 'sending'"
                            f" AND lookups = {lookups}", len(group), f"lookup {lookups}")
        w.clock.advance(timedelta(minutes=1))
        await run_until(w, "SELECT count(*) FROM messages WHERE state = 'sent'", len(group),
                        "settled after the last lookup")
        w.sandbox.faults.outage = False

        assert len(w.sandbox.sent) == len(group)  # never sent twice
        rows = await w.service.pool.fetch(
            "SELECT m.reason, m.lookups, a.outcome FROM messages m"
            " JOIN message_attempts a ON a.message_id = m.id")
        assert [tuple(r) for r in rows] == [
            ("interrupted", sender._max_lookups, "unknown")] * len(group)


async def two_texts_at_the_provider_their_sender_killed(w, pii) -> list:
    """Two SMS members whose messages the provider accepted, their sender killed right
    after each call (the messages left 'sending')."""
    group = members(2, wechat=False)
    remember(pii, group)
    await w.contacts([contact(m) for m in group])
    sender = w.service.sender
    sender._sms, sender._wechat = await kill_mid_call(w, group, DiesAfterTheCall)
    await eventually(lambda: _true(len(w.sandbox.sent) == len(group)), timeout=20,
                     what="every message at the provider")
    return group


async def _true(value: bool) -> bool:
    return value
