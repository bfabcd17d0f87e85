"""The provider adapters against the sandbox, in memory (httpx ASGITransport): requests
signed as the providers check them, the WeChat token cached and refreshed, faults mapped
to transient / permanent / fallback."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.notifications.domain.messages import values_for
from services.notifications.domain.templates import Recipient, render
from services.notifications.providers.aliyun_sms import AliyunSms
from services.notifications.providers.http import HttpxHttp
from services.notifications.providers.tencent_sms import TencentSms
from services.notifications.providers.wechat import WechatOfficialAccount
from services.notifications.settings import load_templates
from tools.sandbox.app import Credentials, create_app

MOBILE = "+8613812341234"
OPENID = "oX3kq9Zb-7mWcT2vLr8yPe4NdA1s"
TEMPLATE = load_templates()["tier_upgraded"]
RENDERED = render(TEMPLATE, Recipient("张", "male", "zh-CN"),
                  values_for({"tier": "gold", "effective_date": "2026-03-01"}, "zh-CN"), "XX银行")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def sandbox():
    app = create_app(Credentials.of())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sb")
    return app.state.sandbox, client


def http(client: httpx.AsyncClient) -> HttpxHttp:
    return HttpxHttp(client)


def aliyun(client, secret="sandbox-aliyun-secret") -> AliyunSms:
    return AliyunSms(client=http(client), base_url="http://sb/aliyun/",
                     access_key_id="sandbox-aliyun-key", access_key_secret=secret,
                     sign_name="XX银行")


def tencent(client, key="sandbox-tencent-key") -> TencentSms:
    return TencentSms(client=http(client), base_url="http://sb/tencent/",
                      secret_id="sandbox-tencent-id", secret_key=key, sdk_app_id="1400000000",
                      sign_name="XX银行")


@pytest.mark.parametrize("make", [aliyun, tencent])
async def test_sms_is_signed_accepted_and_shown_masked(sandbox, make) -> None:
    state, client = sandbox
    result = await make(client).send_sms(MOBILE, TEMPLATE, RENDERED, "m-1")
    assert result.kind == "sent" and result.provider_message_id
    [sent] = state.sent
    assert sent["text"] == RENDERED.sms_text  # what the provider sends is what we logged
    assert (sent["to"], sent["message_id"]) == (MOBILE, "m-1")
    shown = (await client.get("/messages")).json()
    assert shown[0]["to_shown"] == "138****1234" and "13812341234" not in str(shown)


@pytest.mark.parametrize("make", [aliyun, tencent])
async def test_sms_providers_say_what_they_received_under_our_id(sandbox, make) -> None:
    state, client = sandbox
    provider = make(client)
    since = datetime.now(UTC) - timedelta(minutes=20)  # past Tencent's wait for reports
    assert (await provider.status(MOBILE, "m-1", since, datetime.now(UTC))).found is False
    await provider.send_sms(MOBILE, TEMPLATE, RENDERED, "m-1")
    await provider.send_sms("+8613900000001", TEMPLATE, RENDERED, "m-2")
    now = datetime.now(UTC)
    found = await provider.status(MOBILE, "m-1", since, now)
    assert found.found is True and found.delivered
    assert (await provider.status(MOBILE, "m-2", since, now)).found is False  # not this number
    assert (await provider.status("+8613900000009", "m-1", since, now)).found is False
    await client.post("/faults", json={"outage": True})
    failed = await provider.status(MOBILE, "m-1", since, now)
    assert failed.found is None and failed.code == "http_503"
    assert len(state.sent) == 2  # asking sends nothing


async def test_tencent_not_finding_a_fresh_send_says_nothing_yet(sandbox) -> None:
    """Its statuses are the carriers' reports: a send shows once its report has come."""
    _, client = sandbox
    now = datetime.now(UTC)
    early = await tencent(client).status(MOBILE, "m-1", now - timedelta(minutes=1), now)
    assert early.found is None and early.code == "no_report_yet"
    assert early.ask_after == now - timedelta(minutes=1) + timedelta(minutes=10)


@pytest.mark.parametrize(("make", "wrong"), [
    (lambda c: aliyun(c, secret="wrong"), "SignatureDoesNotMatch"),
    (lambda c: tencent(c, key="wrong"), "AuthFailure.SignatureFailure"),
])
async def test_a_bad_signature_is_refused(sandbox, make, wrong) -> None:
    state, client = sandbox
    result = await make(client).send_sms(MOBILE, TEMPLATE, RENDERED, "m-1")
    assert (result.kind, result.code) == ("transient", wrong)
    assert state.sent == []


@pytest.mark.parametrize("make", [aliyun, tencent])
async def test_sms_faults(sandbox, make) -> None:
    state, client = sandbox
    provider = make(client)
    await client.post("/faults", json={"invalid_numbers": [MOBILE]})
    invalid = await provider.send_sms(MOBILE, TEMPLATE, RENDERED, "m-1")
    assert (invalid.kind, invalid.reason) == ("permanent", "invalid_number")
    await client.post("/faults", json={"outage": True})
    assert (await provider.send_sms("+8613900000000", TEMPLATE, RENDERED, "m")).kind == (
        "transient")
    await client.request("DELETE", "/faults")
    await client.post("/faults", json={"rate_limit": 1})
    assert (await provider.send_sms(MOBILE, TEMPLATE, RENDERED, "m")).kind == "transient"
    assert (await provider.send_sms(MOBILE, TEMPLATE, RENDERED, "m")).kind == "sent"


async def test_wechat_token_is_cached_refreshed_before_expiry_and_when_refused(sandbox) -> None:
    state, client = sandbox
    clock = Clock()
    wechat = WechatOfficialAccount(client=http(client), base_url="http://sb/wechat",
                                   app_id="wx-sandbox-app", app_secret="sandbox-wechat-secret",
                                   now=clock)
    for _ in range(3):
        assert (await wechat.send_template(OPENID, TEMPLATE, RENDERED, "m")).kind == "sent"
    assert wechat.token_fetches == 1
    clock.t += 7200 - 299  # within the refresh margin
    assert (await wechat.send_template(OPENID, TEMPLATE, RENDERED, "m")).kind == "sent"
    assert wechat.token_fetches == 2
    state.tokens.clear()  # WeChat forgot it (another process fetched a new one): 40001
    assert (await wechat.send_template(OPENID, TEMPLATE, RENDERED, "m")).kind == "sent"
    assert wechat.token_fetches == 3
    assert state.sent[0]["fields"] == RENDERED.wechat_fields


async def test_wechat_refusals(sandbox) -> None:
    state, client = sandbox
    wechat = WechatOfficialAccount(client=http(client), base_url="http://sb/wechat",
                                   app_id="wx-sandbox-app", app_secret="sandbox-wechat-secret")
    await client.post("/faults", json={"not_following": [OPENID]})
    result = await wechat.send_template(OPENID, TEMPLATE, RENDERED, "m")
    assert (result.kind, result.code) == ("fallback", "43004")
    await client.post("/faults", json={"rate_limit": 1})
    assert (await wechat.send_template("o" + "A" * 27, TEMPLATE, RENDERED, "m")).kind == (
        "transient")
    bad = WechatOfficialAccount(client=http(client), base_url="http://sb/wechat",
                                app_id="wx-sandbox-app", app_secret="wrong")
    assert (await bad.send_template(OPENID, TEMPLATE, RENDERED, "m")).kind == "transient"
