"""Replying to stop, on the real broker and database, accounts and notifications together:
a stop keyword replied to an SMS (Alibaba Cloud SmsUp, Tencent Cloud's reply callback) or
unfollowing the WeChat Official Account clears the member's marketing consent in
notifications at once, goes to accounts as notification.opt-out-received, is withdrawn
there (recorded with its source) and announced back as member.contact-changed. After it,
and for a member who never consented, no marketing message of any kind is queued: every
template of the marketing category is tried. A pushed-again reply changes nothing, a reply
from an unknown number or without a stop keyword is ignored, and a push not authenticated
as its provider is 401 and changes nothing."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import date

import httpx
import pytest

from contracts.corebanking.v1 import Consents
from contracts.topics import CUSTOMERS_V1
from runtime.relay import wait_until_drained
from services.accounts.app import build as build_accounts
from services.notifications.app import build as build_notifications
from services.notifications.domain.messages import Intent
from services.notifications.settings import SANDBOX, NotificationsSettings, load_templates
from tests.integration.fresh import customers, fresh_world
from tests.integration.kafka_tools import eventually, produce
from tests.integration.test_accounts_members import (
    ONBOARDED_AT,
    mobile_of,
    onboarded,
    openid_of,
    updated,
)
from tests.integration.test_notifications_support import DAYTIME, FakeClock
from tools.sandbox.app import Credentials, create_app

pytestmark = pytest.mark.integration
SMS_UP = f"/callbacks/aliyun/sms-up/{SANDBOX['aliyun_callback_secret']}"
TENCENT_REPLY = f"/callbacks/tencent/sms-reply/{SANDBOX['tencent_callback_secret']}"
MARKETING = sorted(n for n, t in load_templates().items() if t.category == "marketing")


def signed() -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), "20260310"
    token = SANDBOX["wechat_callback_token"]
    return {"signature": hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode())
            .hexdigest(), "timestamp": timestamp, "nonce": nonce}


def unfollow(openid: str) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime>"
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event></xml>")


def sms_up(number: str, text: str, sequence_id: int) -> list[dict]:
    return [{"phone_number": number.removeprefix("+86"), "content": text,
             "send_time": "2026-03-10 10:00:05", "sign_name": "XX银行", "dest_code": "1234",
             "sequence_id": sequence_id}]


@pytest.fixture
async def world(infra):
    clock = FakeClock(DAYTIME)
    settings = NotificationsSettings(
        wechat_base_url="http://sandbox/wechat", aliyun_base_url="http://sandbox/aliyun/",
        tencent_base_url="http://sandbox/tencent/", sender_poll_seconds=0.1,
        jobs_poll_seconds=3600)
    sandbox = create_app(Credentials.of(settings), keep_messages=10_000, receipt_delay=0.1,
                         receipts_to="http://notifications/callbacks")

    def notifications(name: str, prefix: str):
        return build_notifications(name, prefix, settings, clock=clock,
                                   transport=httpx.ASGITransport(app=sandbox))

    async with fresh_world({"accounts": build_accounts,
                            "notifications": notifications}) as services:
        services["bootstrap"] = infra["KAFKA_BOOTSTRAP_SERVERS"]
        services["sandbox"] = sandbox
        sandbox.state.reporter.transport = httpx.ASGITransport(
            app=services["notifications"].http)
        yield services


async def until(pool, sql: str, *args, expected=True, what: str = "") -> None:
    async def reached() -> bool:
        return await pool.fetchval(sql, *args) == expected
    await eventually(reached, timeout=30, what=what or sql)


async def enrol(w, members: list[str], *, marketing: dict[str, bool]) -> None:
    accounts, notifications = w["accounts"], w["notifications"]
    await produce(w["bootstrap"], accounts.topic(CUSTOMERS_V1), [
        onboarded(m, birth_date=date(1950, DAYTIME.month, DAYTIME.day),
                  consents=Consents(service_messages=True, marketing=marketing[m]))
        for m in members])
    await until(notifications.pool, "SELECT count(*) FROM contacts WHERE member_id = ANY($1)",
                members, expected=len(members), what="contacts projected")


async def marketing_consent(pool, member: str) -> bool | None:
    return await pool.fetchval("SELECT marketing_consent FROM contacts WHERE member_id = $1",
                               member)


async def queue_every_marketing_message(notifications, member: str) -> list[tuple]:
    """Every marketing template asked for the member, as an event or job would; returns
    (template, state, reason) of what was written."""
    cause = uuid.uuid4().hex
    async with notifications.unit_of_work() as uow:
        await notifications.jobs._queue.queue(
            uow, [Intent(member, t, f"{cause}:{t}", {}) for t in MARKETING],
            notifications.jobs._clock.now())
    return [tuple(r) for r in await notifications.pool.fetch(
        "SELECT template, state, reason FROM messages WHERE member_id = $1"
        " AND category = 'marketing' ORDER BY template", member)]


async def test_a_stop_reply_withdraws_marketing_consent_through_accounts(world) -> None:
    accounts, notifications = world["accounts"], world["notifications"]
    replier, unfollower, tencent_replier, chatty, never = customers(5)
    everyone = [replier, unfollower, tencent_replier, chatty, never]
    await enrol(world, everyone, marketing={m: m != never for m in everyone})
    assert MARKETING, "marketing templates exist"
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=notifications.http),
                            base_url="http://notifications")

    # Not authenticated as the provider: 401, nothing recorded.
    for path in ("/callbacks/aliyun/sms-up/wrong-secret-000000000000",
                 "/callbacks/aliyun/sms-up",
                 "/callbacks/tencent/sms-reply/wrong-secret-000000000000"):
        answer = await api.post(path, json=sms_up(mobile_of(replier), "TD", 1))
        assert answer.status_code == 401, path
        assert answer.json()["code"] == "unauthenticated"
    answer = await api.post("/callbacks/wechat", content=unfollow(openid_of(unfollower)),
                            params={**signed(), "signature": "0" * 40})
    assert answer.status_code == 401
    assert await notifications.pool.fetchval("SELECT count(*) FROM opt_outs") == 0

    # A reply that is no stop keyword, and a stop from a number nobody has: ignored.
    answer = await api.post(SMS_UP, json=sms_up(mobile_of(chatty), "好的，谢谢", 2)
                            + sms_up("+8613000000000", "TD", 3))
    assert answer.json() == {"code": 0, "msg": "接收成功"}
    assert await marketing_consent(notifications.pool, chatty) is True
    assert await notifications.pool.fetchval("SELECT count(*) FROM opt_outs") == 0

    # The stops: notifications stops marketing before accounts has heard of it.
    answer = await api.post(SMS_UP, json=sms_up(mobile_of(replier), "ｔｄ", 4))
    assert (answer.status_code, answer.json()["code"]) == (200, 0)
    assert await marketing_consent(notifications.pool, replier) is False
    answer = await api.post(TENCENT_REPLY, json={
        "extend": "", "mobile": mobile_of(tencent_replier).removeprefix("+86"),
        "nationcode": "86", "sign": "XX银行", "text": "退订", "time": int(time.time())})
    assert answer.json() == {"result": 0, "errmsg": "OK"}
    answer = await api.post("/callbacks/wechat", content=unfollow(openid_of(unfollower)),
                            params=signed())
    assert (answer.status_code, answer.text) == (200, "success")
    stopped = [replier, tencent_replier, unfollower]
    for member in stopped:
        assert await marketing_consent(notifications.pool, member) is False
        assert {s for _, s, _ in await queue_every_marketing_message(notifications, member)} \
            == {"skipped"}

    # Accounts withdraws the consent, recorded with its source, and announces it.
    await until(accounts.pool, "SELECT count(*) FROM consent_changes WHERE via IS NOT NULL",
                expected=3, what="accounts withdrew the consents")
    rows = await accounts.pool.fetch(
        "SELECT member_id, consent, granted, source, via FROM consent_changes"
        " WHERE via IS NOT NULL ORDER BY member_id")
    assert {(r["member_id"], r["via"]) for r in rows} == {
        (replier, "sms_reply"), (tencent_replier, "sms_reply"),
        (unfollower, "wechat_unsubscribe")}
    assert all(r["consent"] == "marketing" and not r["granted"] for r in rows)
    assert {r["source"] for r in rows} == {notifications.source}
    assert not await accounts.pool.fetchval(
        "SELECT bool_or(marketing) FROM members WHERE member_id = ANY($1)", stopped)
    # the contact record announcing it reached notifications (it is newer than the one
    # projected at enrolment) and keeps marketing off
    await until(notifications.pool, "SELECT count(*) FROM contacts WHERE member_id = ANY($1)"
                " AND changed_at > $2", stopped, ONBOARDED_AT, expected=3)
    await wait_until_drained(accounts.pool)

    # Pushed again: nothing changes.
    answer = await api.post(SMS_UP, json=sms_up(mobile_of(replier), "ｔｄ", 4))
    assert answer.status_code == 200
    await wait_until_drained(notifications.pool)
    assert await notifications.pool.fetchval("SELECT count(*) FROM opt_outs") == 3
    assert await accounts.pool.fetchval(
        "SELECT count(*) FROM consent_changes WHERE via IS NOT NULL") == 3

    # No marketing of any kind after the stop, nor for a member who never consented; the
    # member who only chatted still gets it. The jobs (birthdays today, care days) too.
    await notifications.jobs.run_once()
    if hasattr(notifications, "care_days"):
        await notifications.care_days.run_once()
    for member in [*stopped, never]:
        written = await queue_every_marketing_message(notifications, member)
        assert {t for t, _, _ in written} >= set(MARKETING), member
        assert {(s, r) for _, s, r in written} == {("skipped", "no_consent")}, written
    chatty_got = await queue_every_marketing_message(notifications, chatty)
    assert "birthday" in {t for t, _, _ in chatty_got}
    assert all(s != "skipped" for _, s, _ in chatty_got), chatty_got


async def test_the_sandbox_replies_and_core_banking_does_not_bring_consent_back(world) -> None:
    """The sandbox simulates a member's reply; a later core-banking profile still carrying
    the consent given before (core banking never heard of the reply) leaves it withdrawn,
    while the rest of that profile applies."""
    accounts, notifications = world["accounts"], world["notifications"]
    [member] = customers(1)
    await enrol(world, [member], marketing={member: True})
    sandbox = httpx.AsyncClient(transport=httpx.ASGITransport(app=world["sandbox"]),
                                base_url="http://sandbox")
    answer = await sandbox.post("/replies", json={"provider": "aliyun",
                                                  "from": mobile_of(member), "text": "R"})
    assert answer.json() == {"status": 200}
    assert await marketing_consent(notifications.pool, member) is False
    await until(accounts.pool, "SELECT NOT marketing FROM members WHERE member_id = $1",
                member, what="accounts withdrew it")

    later = ONBOARDED_AT.replace(year=2026)
    await produce(world["bootstrap"], accounts.topic(CUSTOMERS_V1),
                  [updated(member, later, preferred_language="en-US")])
    await until(notifications.pool, "SELECT language FROM contacts WHERE member_id = $1",
                member, expected="en-US", what="the new profile projected")
    assert await marketing_consent(notifications.pool, member) is False
    assert not await accounts.pool.fetchval(
        "SELECT marketing FROM members WHERE member_id = $1", member)
    assert await accounts.pool.fetchval(
        "SELECT count(*) FROM consent_changes WHERE member_id = $1 AND consent = 'marketing'"
        " AND granted AND changed_at > $2", member, ONBOARDED_AT) == 0
