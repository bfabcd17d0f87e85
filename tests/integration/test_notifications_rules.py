"""Rules on the real broker and database: quiet hours hold a message until 08:00 (fake
clock), the daily summary replaces one message per swipe, birthday greetings need marketing
consent, a closed member's contact data is gone, delivery receipts settle messages."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from contracts.accounts.v1 import MemberClosed, MemberContactErased
from contracts.envelope import encode
from contracts.points.v1 import Calculation, PointsEarned, PointsExpiringSoon
from contracts.rewards.v1 import RedemptionConfirmed
from contracts.topics import (
    MEMBER_CONTACTS_V1,
    MEMBERS_V1,
    NOTIFICATIONS_V1,
    POINTS_V1,
    REWARDS_V1,
)
from runtime.relay import wait_until_drained
from services.notifications.settings import SANDBOX
from tests.integration.kafka_tools import read_topic
from tests.integration.test_notifications_support import (
    SHANGHAI,
    contact,
    members,
    notifications_world,
    remember,
    upgrade,
)

pytestmark = pytest.mark.integration
SOURCE = "urn:test:points"


def expiring(member, points: int = 500):
    return encode(PointsExpiringSoon(member_id=member.id, points=points,
                                     expires_on=date(2026, 12, 31),
                                     announced_at=datetime(2026, 12, 1, tzinfo=SHANGHAI)),
                  source=SOURCE)


def earned(member, points: int, at: datetime):
    return encode(PointsEarned(
        member_id=member.id, transaction_id=uuid.uuid4().hex, points=points,
        calculation=Calculation(spend_cny=Decimal(points), base_points=points, bonus_points=0,
                                multiplier=Decimal("1.0"), tier="standard", rule_ids=["base"],
                                caps_applied=[]),
        expires_on=date(2027, 12, 31), earned_at=at), source=SOURCE)


async def test_quiet_hours_hold_a_message_until_eight(infra, pii):
    night = datetime(2026, 12, 1, 22, 30, tzinfo=SHANGHAI)
    async with notifications_world(infra, night) as w:
        [member] = members(1, wechat=False)
        remember(pii, [member])
        await w.contacts([contact(member)])
        await w.send(POINTS_V1, [expiring(member)])
        await w.send(MEMBERS_V1, [upgrade(member)])  # news: waits too, uncounted
        await w.send(REWARDS_V1, [confirmed(member)])  # the member's own answer: at once
        await w.until("SELECT count(*) FROM messages WHERE template = 'redemption_confirmed'"
                      " AND state = 'sent'")
        held = await w.service.pool.fetch(
            "SELECT template, state, not_before, day FROM messages"
            " WHERE template <> 'redemption_confirmed' ORDER BY template")
        eight = datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
        assert [tuple(r) for r in held] == [
            ("points_expiring", "queued", eight, date(2026, 12, 2)),
            ("tier_upgraded", "queued", eight, None)]
        w.clock.set(eight - timedelta(seconds=1))
        assert await w.service.sender.run_once() == 0
        assert len(w.sandbox.sent) == 1

        w.clock.set(eight)
        w.service.sender.wake()
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=3)
        assert any("500积分将于2026-12-31到期" in m["text"] for m in w.sandbox.sent[1:])


def confirmed(member):
    return encode(RedemptionConfirmed(
        member_id=member.id, redemption_id="rdm_0000000001", partner_id="ptn_dragonpass",
        kind="lounge", item_id="PEK-T3-C01", title="北京首都机场T3 国内贵宾室", persons=1,
        points=0, confirmed_at=datetime(2026, 12, 1, 22, 30, tzinfo=SHANGHAI)), source=SOURCE)


async def test_the_daily_cap_moves_service_messages_to_the_next_morning(infra, pii):
    day = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
    async with notifications_world(infra, day, daily_cap=2) as w:
        [member] = members(1, wechat=False)
        remember(pii, [member])
        await w.contacts([contact(member)])
        await w.send(POINTS_V1, [expiring(member, points) for points in (1, 2, 3)])
        await w.send(MEMBERS_V1, [upgrade(member)])  # transactional: not counted, not held
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=3)
        held = await w.service.pool.fetch(
            "SELECT not_before, day FROM messages WHERE state = 'queued'")
        eight = datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
        assert [tuple(r) for r in held] == [(eight, date(2026, 12, 2))]
        w.clock.set(eight)
        w.service.sender.wake()
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=4)
        assert len(w.sent_to(member.mobile)) == 4


async def test_one_points_summary_a_day_instead_of_a_message_per_swipe(infra, pii):
    morning = datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)
    async with notifications_world(infra, morning, daily_cap=2) as w:
        [member] = members(1, wechat=True)
        remember(pii, [member])
        await w.contacts([contact(member, family="王", gender="female")])
        swipes = [earned(member, p, morning + timedelta(hours=h))
                  for p, h in ((100, 0), (250, 2), (0, 3), (30, 5))]
        late = earned(member, 70, morning + timedelta(hours=11, minutes=30))  # 20:30
        await w.send(POINTS_V1, swipes + [late])
        await w.until("SELECT count(*) FROM points_summaries", expected=2)
        assert await w.count("SELECT count(*) FROM messages") == 0  # no message per swipe

        w.clock.set(datetime(2026, 3, 10, 19, 59, tzinfo=SHANGHAI))
        assert await w.service.jobs.run_once() == {"summaries": 0, "birthdays": 0}
        w.clock.set(datetime(2026, 3, 10, 20, 0, tzinfo=SHANGHAI))
        assert await w.service.jobs.run_once() == {"summaries": 1, "birthdays": 0}
        assert await w.service.jobs.run_once() == {"summaries": 0, "birthdays": 0}
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'")
        [summary] = w.sent_to(member.openid)
        assert summary["fields"] == {"time1": "2026-03-10", "number2": "3", "number3": "380"}
        # The 20:30 purchase waits for the next day's summary.
        assert await w.count("SELECT points FROM points_summaries WHERE NOT queued") == 70


async def test_birthday_greeting_only_with_marketing_consent_once_a_year(infra, pii):
    ten = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
    async with notifications_world(infra, ten) as w:
        consenting, refusing = members(2, wechat=False)
        remember(pii, [consenting, refusing])
        await w.contacts([contact(consenting, marketing=True, birth=date(1985, 6, 1)),
                          contact(refusing, marketing=False, birth=date(1985, 6, 1))])
        assert await w.service.jobs.run_once() == {"summaries": 0, "birthdays": 1}
        assert await w.service.jobs.run_once() == {"summaries": 0, "birthdays": 0}
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'")
        [greeting] = w.sent_to(consenting.mobile)
        assert greeting["text"] == (
            "【XX银行】张先生，祝您生日快乐！感谢您一直以来的信任与支持。回复TD或R退订")
        assert w.sent_to(refusing.mobile) == []


async def test_a_closed_members_contact_data_is_gone(infra, pii):
    night = datetime(2026, 12, 1, 23, 0, tzinfo=SHANGHAI)
    async with notifications_world(infra, night) as w:
        leaving, erased, staying = members(3, wechat=True)
        remember(pii, [leaving, erased, staying])
        await w.contacts([contact(m) for m in (leaving, erased, staying)])
        await w.send(POINTS_V1, [expiring(m) for m in (leaving, erased, staying)])
        await w.until("SELECT count(*) FROM messages WHERE body IS NOT NULL", expected=3)

        closed_at = datetime(2026, 12, 1, 23, 5, tzinfo=SHANGHAI)
        await w.send(MEMBERS_V1, [encode(MemberClosed(member_id=leaving.id, closed_at=closed_at),
                                         source="urn:test:accounts")])
        await w.send(MEMBER_CONTACTS_V1, [encode(MemberContactErased(
            member_id=erased.id, erased_at=closed_at), source="urn:test:accounts")])
        await w.until("SELECT count(*) FROM closed_members", expected=2)
        # A contact record arriving late must not bring the data back.
        await w.send(MEMBER_CONTACTS_V1, [contact(leaving, at=closed_at + timedelta(hours=1))])
        await w.until("SELECT count(*) FROM inbox WHERE topic = $1", MEMBER_CONTACTS_V1,
                      expected=5)

        gone = [leaving.id, erased.id]
        assert await w.count("SELECT count(*) FROM contacts WHERE member_id = ANY($1)", gone) == 0
        assert await w.count("SELECT count(*) FROM contacts") == 1
        rows = await w.service.pool.fetch(
            "SELECT state, reason, body FROM messages WHERE member_id = ANY($1)", gone)
        assert {(r["state"], r["reason"], r["body"]) for r in rows} == {
            ("cancelled", "member_closed", None)}
        for row in await w.service.pool.fetch("SELECT body::text AS b FROM messages"
                                              " WHERE body IS NOT NULL"):
            assert all(s not in row["b"] for s in pii)

        w.clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI))
        w.service.sender.wake()
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'")
        assert [m["to"] for m in w.sandbox.sent] == [staying.openid]


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
async def test_the_sandbox_reports_deliveries_back(infra, pii, provider):
    day = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)
    async with notifications_world(infra, day, receipts=True, sms_provider=provider) as w:
        group = members(2, wechat=False) + members(2, wechat=True)
        remember(pii, group)
        await w.contacts([contact(m) for m in group])
        await w.send(MEMBERS_V1, [upgrade(m) for m in group])
        await w.until("SELECT count(*) FROM messages WHERE state = 'delivered'", expected=4)
        assert await w.count("SELECT count(*) FROM delivery_receipts WHERE message_id IS NULL"
                             ) == 0


async def test_delivery_receipts_settle_messages(infra, pii):
    day = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)
    async with notifications_world(infra, day) as w:
        ok, bounced, wechat = (*members(2, wechat=False), *members(1, wechat=True))
        remember(pii, [ok, bounced, wechat])
        await w.contacts([contact(m) for m in (ok, bounced, wechat)])
        await w.send(MEMBERS_V1, [upgrade(m) for m in (ok, bounced, wechat)])
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=3)
        ids = {m["to"]: m for m in w.sandbox.sent}

        api = httpx.AsyncClient(transport=httpx.ASGITransport(app=w.service.http),
                                base_url="http://notifications")
        reports = [{"phone_number": m.digits, "success": m is ok,
                    "err_code": "DELIVERED" if m is ok else "MK:0001",
                    "biz_id": ids[m.mobile]["provider_message_id"],
                    "out_id": ids[m.mobile]["message_id"]} for m in (ok, bounced)]
        aliyun_url = f"/callbacks/aliyun/sms-report/{SANDBOX['aliyun_callback_secret']}"
        answer = await api.post(aliyun_url, json=reports)
        assert answer.json() == {"code": 0, "msg": "成功"}
        xml = (f"<xml><ToUserName>gh_1</ToUserName><FromUserName>{wechat.openid}</FromUserName>"
               "<CreateTime>1</CreateTime><MsgType>event</MsgType>"
               "<Event>TEMPLATESENDJOBFINISH</Event>"
               f"<MsgID>{ids[wechat.openid]['provider_message_id']}</MsgID>"
               "<Status>success</Status></xml>")
        now = str(int(time.time()))  # WeChat's timestamp: checked against our clock
        sig = hashlib.sha1("".join(sorted(["sandbox-callback-token", now, "n"])).encode())
        assert (await api.post("/callbacks/wechat", content=xml, params={
            "signature": "bad", "timestamp": now, "nonce": "n"})).status_code == 401
        assert (await api.post("/callbacks/wechat", content=xml, params={
            "signature": sig.hexdigest(), "timestamp": now, "nonce": "n"})).text == "success"
        await api.post(aliyun_url, json=reports)  # repeated: no change

        states = dict(await w.service.pool.fetch("SELECT member_id, state FROM messages"))
        assert states == {ok.id: "delivered", bounced.id: "failed", wechat.id: "delivered"}
        assert await w.count("SELECT count(*) FROM delivery_receipts") == 5
        await wait_until_drained(w.service.pool)
        records = await read_topic(w.bootstrap, w.service.topic(NOTIFICATIONS_V1),
                                   until=lambda kept: len(kept) >= 6, settle=0.5)
        types = sorted(dict(r.headers)["ce_type"].decode() for r in records)
        assert types == ["notification.delivered"] * 2 + ["notification.failed"] + [
            "notification.sent"] * 3
