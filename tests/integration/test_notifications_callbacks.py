"""Delivery-receipt callbacks on the real broker and database, authenticated the way each
provider documents it: WeChat's signature (SHA-1 of the sorted token, timestamp and nonce)
with a fresh timestamp, the secret ending the callback URL configured at Alibaba Cloud and
Tencent Cloud (neither signs its receipts). Anything else is 401 `{code, message}` and
changes nothing; hostile bodies are 4xx `{code, message}`, never 500; the sandbox's
receipts pass only with the service's secrets."""

from __future__ import annotations

import hashlib
import time

import httpx
import pytest

from contracts.topics import MEMBERS_V1
from services.notifications.settings import SANDBOX
from tests.integration.kafka_tools import eventually
from tests.integration.test_notifications_support import (
    DAYTIME,
    contact,
    members,
    notifications_world,
    remember,
    upgrade,
)

pytestmark = pytest.mark.integration
ALIYUN = f"/callbacks/aliyun/sms-report/{SANDBOX['aliyun_callback_secret']}"
TENCENT = f"/callbacks/tencent/sms-status/{SANDBOX['tencent_callback_secret']}"


def api(w) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=w.service.http),
                             base_url="http://notifications")


def signed(token: str = SANDBOX["wechat_callback_token"], *, timestamp: str | None = None,
           nonce: str = "1743502518") -> dict[str, str]:
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


def job_finished(openid: str, msgid: str) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            "</FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>"
            f"<MsgID>{msgid}</MsgID><Status><![CDATA[success]]></Status></xml>")


def assert_refused(answer: httpx.Response, status: int = 401) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"code", "message"} and body["message"]
    if status == 401:
        assert body["code"] == "unauthenticated"


async def nothing_changed(w, sent: int) -> None:
    assert await w.count("SELECT count(*) FROM delivery_receipts") == 0
    assert await w.count("SELECT count(*) FROM messages WHERE state = 'sent'") == sent
    assert await w.count("SELECT count(*) FROM messages WHERE finished_at IS NOT NULL") == 0


async def sent_messages(w, group) -> dict[str, dict]:
    await w.contacts([contact(m) for m in group])
    await w.send(MEMBERS_V1, [upgrade(m) for m in group])
    await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=len(group))
    return {m["to"]: m for m in w.sandbox.sent}


async def test_alibaba_and_wechat_receipts_need_the_url_secret_and_the_signature(infra, pii):
    async with notifications_world(infra, DAYTIME) as w:
        sms, wechat = members(1, wechat=False) + members(1, wechat=True)
        remember(pii, [sms, wechat])
        sent = await sent_messages(w, [sms, wechat])
        report = [{"phone_number": sms.digits, "success": True, "err_code": "DELIVERED",
                   "biz_id": sent[sms.mobile]["provider_message_id"],
                   "out_id": sent[sms.mobile]["message_id"]}]
        xml = job_finished(wechat.openid, sent[wechat.openid]["provider_message_id"])
        client = api(w)

        for url in ("/callbacks/aliyun/sms-report", "/callbacks/aliyun/sms-report/guess",
                    ALIYUN + "x", TENCENT.replace("tencent/sms-status", "aliyun/sms-report"),
                    "/callbacks/aliyun/sms-report/%E7%A7%98%00"):
            assert_refused(await client.post(url, json=report))
        stale = str(int(time.time()) - 600)
        for params in ({}, {**signed(), "signature": "0" * 40}, signed("another-token"),
                       signed(timestamp=stale), signed(timestamp="١٧٧٣١١٢٣٤٥"),
                       signed(timestamp="9" * 5000), {**signed(), "nonce": "其他"},
                       {**signed(), "signature": signed()["signature"].upper() + "é"}):
            assert_refused(await client.post("/callbacks/wechat", content=xml, params=params))
        assert_refused(await client.get("/callbacks/wechat", params={"echostr": "e"}))
        await nothing_changed(w, sent=2)

        answer = await client.get("/callbacks/wechat", params={**signed(), "echostr": "e42"})
        assert answer.text == "e42"
        assert (await client.post(ALIYUN, json=report)).json() == {"code": 0, "msg": "成功"}
        assert (await client.post("/callbacks/wechat", content=xml,
                                  params={**signed(), "openid": wechat.openid})).text == "success"
        states = dict(await w.service.pool.fetch("SELECT member_id, state FROM messages"))
        assert states == {sms.id: "delivered", wechat.id: "delivered"}


async def test_tencent_receipts_need_the_url_secret_and_settle_only_its_messages(infra, pii):
    async with notifications_world(infra, DAYTIME, sms_provider="tencent") as w:
        [member] = members(1, wechat=False)
        remember(pii, [member])
        sent = (await sent_messages(w, [member]))[member.mobile]
        status = [{"user_receive_time": "2026-03-10 10:00:05", "nationcode": "86",
                   "mobile": member.digits, "report_status": "SUCCESS", "errmsg": "DELIVRD",
                   "description": "用户短信送达成功", "sid": sent["provider_message_id"]}]
        client = api(w)
        for url in ("/callbacks/tencent/sms-status", TENCENT[:-1],
                    f"/callbacks/tencent/sms-status/{SANDBOX['aliyun_callback_secret']}"):
            assert_refused(await client.post(url, json=status))
        await nothing_changed(w, sent=1)

        # Alibaba Cloud's URL and secret, naming the message Tencent sent: recorded, and
        # nothing settled (a provider reports only on its own messages).
        forged = [{"success": False, "err_code": "MK:0001", "biz_id": "1^0",
                   "out_id": sent["message_id"]}]
        assert (await client.post(ALIYUN, json=forged)).status_code == 200
        assert await w.count("SELECT count(*) FROM messages WHERE state = 'sent'") == 1

        assert (await client.post(TENCENT, json=status)).json() == {"result": 0, "errmsg": "OK"}
        assert await w.count("SELECT count(*) FROM messages WHERE state = 'delivered'") == 1


async def test_hostile_callbacks_get_4xx_with_code_and_message(infra, pii):
    async with notifications_world(infra, DAYTIME) as w:
        [member] = members(1, wechat=False)
        remember(pii, [member])
        client = api(w)
        for body in (b"{not json", b"[" * 100_000, b'{"sid": "1"}', b"[1, 2]",
                     b"\xff\xfe\x00garbage"):
            assert_refused(await client.post(ALIYUN, content=body), 400)
            assert_refused(await client.post(TENCENT, content=body), 400)
        for url, field in ((ALIYUN, "biz_id"), (TENCENT, "sid")):
            for value in ('"1\\u0000"', '["1"]', '{"a": 1}', f'"{"9" * 200}"'):
                body = f'[{{"{field}": {value}, "success": true}}]'.encode()
                assert_refused(await client.post(url, content=body), 400)
        assert_refused(await client.post(ALIYUN, json=[{"biz_id": "1", "success": "yes"}]), 400)
        assert_refused(await client.post(ALIYUN, content=b"[" + b" " * (1 << 20) + b"]"), 413)

        async def endless():  # chunked: no Content-Length to refuse it by
            for _ in range(64):
                yield b" " * 65536
        assert_refused(await client.post(TENCENT, content=endless()), 413)

        laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]><xml>&lol2;</xml>')
        too_long = job_finished("o" + "x" * 27, "1" * 200).encode()
        for body in (laughs, b"not xml", b"<xml><unclosed></xml>", too_long):
            assert_refused(await client.post("/callbacks/wechat", content=body,
                                             params=signed()), 400)

        assert_refused(await client.get("/callbacks/nowhere"), 404)
        assert_refused(await client.get(ALIYUN), 405)
        await nothing_changed(w, sent=0)
        assert (await client.get("/health/live")).status_code == 200

        spec = w.service.http.openapi()
        route = spec["paths"]["/callbacks/aliyun/sms-report/{secret}"]["post"]
        assert route["responses"]["401"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"}


class Recording(httpx.AsyncBaseTransport):
    """The sandbox's way to the service, noting each answer's status."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.statuses: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.statuses.append(response.status_code)
        return response


async def test_the_sandbox_receipts_pass_only_with_the_services_secrets(infra, pii):
    async with notifications_world(infra, DAYTIME, receipts=True) as w:
        reporter = w.reporter
        reporter.transport = recording = Recording(reporter.transport)
        keys = w.sandbox.credentials
        keys.aliyun_callback_secret = "s" * 32  # a sandbox that does not know our secrets
        keys.wechat_callback_token = "another-token"
        group = members(1, wechat=False) + members(1, wechat=True)
        remember(pii, group)
        await sent_messages(w, group)

        async def both_answered() -> bool:
            return len(recording.statuses) >= 2
        await eventually(both_answered, timeout=10, what="the sandbox's receipts answered")
        assert recording.statuses == [401, 401]
        await nothing_changed(w, sent=2)
