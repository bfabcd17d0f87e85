"""Member events' messages on the real broker and database: an invitation is marketing
(sent only with marketing consent, once however often the event comes, never at night);
a promotion from the waitlist, the reminder and a cancellation are the member's own
booking (transactional)."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from contracts.envelope import encode
from contracts.rewards.v1 import SalonInvited, SalonReminderDue, SalonRsvpChanged
from contracts.topics import MEMBER_CONTACTS_V1, REWARDS_V1
from runtime.relay import wait_until_drained
from services.notifications.app import build as build_notifications
from services.notifications.settings import NotificationsSettings
from services.rewards.app import build as build_rewards
from tests.integration.fresh import fresh_world
from tests.integration.kafka_tools import eventually, produce
from tests.integration.test_notifications_support import (
    DAYTIME,
    SHANGHAI,
    FakeClock,
    contact,
    members,
    notifications_world,
    remember,
)
from tests.integration.test_rewards_salons import new_salon
from tests.tokens import staff_headers
from tools.sandbox.app import Credentials, create_app

pytestmark = pytest.mark.integration
SOURCE = "urn:test:rewards"
STARTS = datetime(2026, 3, 20, 14, 0, tzinfo=SHANGHAI)


def guest(member, **more) -> dict:
    return {"member_id": member.id, "salon_id": "sal_wine", "title": "葡萄酒品鉴",
            "title_en": "Wine tasting", "city": "上海", "venue": "外滩18号",
            "starts_at": STARTS, **more}


def invited(member):
    return encode(SalonInvited(**guest(member), category="wealth", rsvp_until=STARTS,
                               invited_at=DAYTIME), source=SOURCE, id=f"inv-{member.id}")


async def test_an_invitation_needs_marketing_consent_and_goes_once(infra, pii):
    async with notifications_world(infra, DAYTIME) as w:
        consenting, refusing = members(2, wechat=False)
        remember(pii, [consenting, refusing])
        await w.contacts([contact(consenting, marketing=True),
                          contact(refusing, marketing=False, language="en-US")])
        # Redelivered, and published twice with the same deterministic id: one message.
        await w.send(REWARDS_V1, [invited(consenting), invited(refusing), invited(consenting)])
        await w.send(REWARDS_V1, [invited(consenting)])
        await w.until("SELECT count(*) FROM messages WHERE template = 'salon_invitation'",
                      expected=2)
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'")
        rows = {r["member_id"]: (r["state"], r["reason"]) for r in await w.service.pool.fetch(
            "SELECT member_id, state, reason FROM messages")}
        assert rows == {consenting.id: ("sent", None), refusing.id: ("skipped", "no_consent")}
        [sms] = w.sent_to(consenting.mobile)
        assert "葡萄酒品鉴" in sms["text"] and "2026-03-20 14:00" in sms["text"]
        assert "退订" in sms["text"]  # marketing: the opt-out line
        assert w.sent_to(refusing.mobile) == []


async def test_an_invitation_waits_for_the_morning(infra, pii):
    night = datetime(2026, 3, 10, 23, 0, tzinfo=SHANGHAI)
    async with notifications_world(infra, night) as w:
        [member] = members(1, wechat=True)
        remember(pii, [member])
        await w.contacts([contact(member, marketing=True, language="en-US")])
        await w.send(REWARDS_V1, [invited(member)])
        await w.until("SELECT count(*) FROM messages")
        held = await w.service.pool.fetchrow("SELECT state, not_before FROM messages")
        eight = datetime(2026, 3, 11, 8, 0, tzinfo=SHANGHAI)
        assert (held["state"], held["not_before"]) == ("queued", eight)
        w.clock.set(eight + timedelta(minutes=1))
        w.service.sender.wake()
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'")
        [wechat] = w.sent_to(member.openid)
        assert wechat["fields"]["thing2"] == "Wine tasting"


async def test_seats_reminders_and_cancellations_are_transactional(infra, pii):
    async with notifications_world(infra, DAYTIME) as w:
        [member] = members(1, wechat=False)
        remember(pii, [member])
        await w.contacts([contact(member, marketing=False)])
        await w.send(REWARDS_V1, [
            encode(SalonRsvpChanged(**guest(member), status="accepted", promoted=True,
                                    changed_at=DAYTIME), source=SOURCE),
            encode(SalonRsvpChanged(**guest(member), status="declined",
                                    changed_at=DAYTIME), source=SOURCE),
            encode(SalonReminderDue(**guest(member), due_at=DAYTIME), source=SOURCE),
            encode(SalonRsvpChanged(**guest(member), status="cancelled",
                                    changed_at=DAYTIME), source=SOURCE)])
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=3)
        templates = {r["template"] for r in await w.service.pool.fetch(
            "SELECT template FROM messages")}
        assert templates == {"salon_promoted", "salon_reminder", "salon_cancelled"}
        assert len(w.sent_to(member.mobile)) == 3


async def test_from_the_salon_to_the_members_phone(infra, pii, monkeypatch):
    """Rewards invites the eligible members; notifications sends the invitation to the one
    with marketing consent only, once, however often the invitation job runs."""
    monkeypatch.setenv("SALON_JOB_SECONDS", "3600")
    settings = NotificationsSettings(
        wechat_base_url="http://sandbox/wechat", aliyun_base_url="http://sandbox/aliyun/",
        tencent_base_url="http://sandbox/tencent/", sender_poll_seconds=0.1,
        jobs_poll_seconds=3600)
    clock = FakeClock(DAYTIME)
    sandbox = create_app(Credentials.of(settings), clock=lambda: clock.now().timestamp())
    builds = {"rewards": build_rewards, "notifications": lambda name, prefix: (
        build_notifications(name, prefix, settings, clock=clock,
                            transport=httpx.ASGITransport(app=sandbox)))}
    async with fresh_world(builds) as world:
        rewards, notifications = world["rewards"], world["notifications"]
        consenting, refusing = members(2, wechat=False)
        remember(pii, [consenting, refusing])
        await produce(infra["KAFKA_BOOTSTRAP_SERVERS"], notifications.topic(MEMBER_CONTACTS_V1),
                      [contact(consenting, marketing=True), contact(refusing)])

        async def projected() -> bool:
            return await notifications.pool.fetchval("SELECT count(*) FROM contacts") == 2
        await eventually(projected, timeout=30, what="contacts projected")
        await rewards.pool.executemany(
            "INSERT INTO members (member_id, tier, changed_at) VALUES ($1, 'gold', now())",
            [(consenting.id,), (refusing.id,)])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=rewards.http),
                                     base_url="http://rewards") as client:
            created = await client.post("/v1/staff/salons", json=new_salon(
                eligible_tiers=["gold"]), headers=staff_headers(
                    "evt-0001", "loyalty-staff", "loyalty-events"))
        assert created.status_code == 201, created.text
        assert await rewards.salons.invite() == 2
        assert await rewards.salons.invite() == 0
        await wait_until_drained(rewards.pool)

        async def decided() -> bool:
            return await notifications.pool.fetchval(
                "SELECT count(*) FROM messages WHERE template = 'salon_invitation'"
                " AND state IN ('sent', 'skipped')") == 2
        await eventually(decided, timeout=30, what="both invitations decided")
        states = {r["member_id"]: r["state"] for r in await notifications.pool.fetch(
            "SELECT member_id, state FROM messages")}
        assert states == {consenting.id: "sent", refusing.id: "skipped"}
        sent = sandbox.state.sandbox.sent
        assert [m["to"] for m in sent] == [consenting.mobile]
