"""A sender killed between the provider's acceptance and its own record (kill -9 mid-batch,
as the fault suite does it) on the real broker and database: the messages stay marked
'sending', and once their lease has run out they are settled as sent without a second
provider call; notification.sent goes out once each."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from contracts.topics import MEMBER_CONTACTS_V1, MEMBERS_V1, NOTIFICATIONS_V1
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
        assert sorted(tuple(r) for r in rows) == sorted(
            [("interrupted", "sms", "unknown")] * 3 + [("interrupted", "wechat", "unknown")] * 2)

        # A message queued after the restart goes out as usual, once.
        [late] = members(1, wechat=False)
        remember(pii, [late])
        await w.send(MEMBER_CONTACTS_V1, [contact(late)])
        await w.until("SELECT count(*) FROM contacts", expected=len(group) + 1)
        await w.send(MEMBERS_V1, [upgrade(late)])
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'",
                      expected=len(group) + 1)
        assert len(w.sent_to(late.mobile)) == 1

        await wait_until_drained(w.service.pool)
        records = await read_topic(w.bootstrap, w.service.topic(NOTIFICATIONS_V1),
                                   until=lambda kept: len(kept) >= len(group) + 1, settle=1.0)
        sent = Counter(json.loads(r.value)["message_id"] for r in records)
        assert len(sent) == len(group) + 1 and set(sent.values()) == {1}
