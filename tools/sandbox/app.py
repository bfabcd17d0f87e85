"""Sandbox providers speaking the real HTTP APIs, for development and tests.

    /wechat/cgi-bin/token, /wechat/cgi-bin/message/template/send   WeChat Official Account
    /aliyun/        Alibaba Cloud SendSms, and QuerySendDetails (by Action)
    /tencent/       Tencent Cloud SendSms, and PullSmsSendStatusByPhoneNumber (X-TC-Action)
    The two lookups answer from what the sandbox accepted and keeps (the last
    `keep_messages`; every send delivered at once), by number, day or time, with our id
    (OutId, SessionContext).
    GET  /messages   what was sent (numbers masked), newest last; GET / shows it as a page
    GET  /stats      counts per channel
    Delivery receipts: with `receipts_to` (the service's /callbacks URL), each accepted
    message is reported back a moment later the way the provider would: Alibaba Cloud
    SmsReport and Tencent SMS status callbacks to the URL configured with them (ending in
    the callback secret: neither provider signs them), WeChat TEMPLATESENDJOBFINISH signed
    with the token (signature, timestamp, nonce and openid in the query). A push the
    service does not take (unreachable, 5xx) is tried again `receipt_retries` times,
    `receipt_retry_delay` seconds apart, then dropped, as real providers give up.
    POST /replies    a member's reply, pushed to the service at once (needs `receipts_to`):
                     {"provider": "aliyun" | "tencent", "from": "+86138...", "text": "TD"}
                     as SmsUp / the SMS reply callback, or {"provider": "wechat", "from":
                     "<openid>"} as an unsubscribe event (signed); answers the status code
    POST /faults     inject faults: {"outage": true} (every call 503), {"rate_limit": 5}
                     (the next 5 calls are rate-limited), {"invalid_numbers": [...]},
                     {"not_following": [...]}, {"drop_receipts": true} (accepted messages
                     are never reported); DELETE /faults clears them

Every request is checked like the provider would: the WeChat token, the Alibaba Cloud
HMAC-SHA1 signature, the Tencent TC3-HMAC-SHA256 signature. A bad one is refused with the
provider's own error, so a signing bug shows up here and not in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from string import Template as _Text
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import SecretStr

from runtime.personal_data import mask_mobile
from services.notifications.domain.templates import OPT_OUT
from services.notifications.providers import aliyun_sms, tencent_sms
from services.notifications.settings import NotificationsSettings, load_templates


@dataclass
class Credentials:
    """The keys the sandbox accepts and signs its receipts with: those the service is
    configured with (`of`)."""

    wechat_app_id: str
    wechat_app_secret: str
    aliyun_access_key_id: str
    aliyun_access_key_secret: str
    tencent_secret_id: str
    tencent_secret_key: str
    wechat_callback_token: str
    aliyun_callback_secret: str
    tencent_callback_secret: str
    token_lifetime: int = 7200

    @classmethod
    def of(cls, settings: NotificationsSettings | None = None) -> Credentials:
        """The service's keys; without settings, its development defaults (not the env)."""
        settings = settings or NotificationsSettings.model_construct()

        def value(name: str) -> str:
            v = getattr(settings, name)
            return v.get_secret_value() if isinstance(v, SecretStr) else v
        return cls(**{f.name: value(f.name) for f in fields(cls) if f.name != "token_lifetime"})


@dataclass
class Faults:
    outage: bool = False
    rate_limit: int = 0
    invalid_numbers: set[str] = field(default_factory=set)
    not_following: set[str] = field(default_factory=set)
    drop_receipts: bool = False


@dataclass
class SandboxState:
    credentials: Credentials
    faults: Faults = field(default_factory=Faults)
    #: Everything accepted, with the real recipient (for in-process tests only).
    sent: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {"wechat": 0, "sms": 0})
    calls: int = 0
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))


CHINA = ZoneInfo("Asia/Shanghai")


def create_app(credentials: Credentials | None = None, *, keep_messages: int = 1000,
               receipts_to: str | None = None, receipt_delay: float = 1.0,
               receipt_retries: int = 3, receipt_retry_delay: float = 2.0,
               clock: Callable[[], float] = time.time) -> FastAPI:
    """`clock`: when a send is accepted (tests pass the service's fake clock's), for the
    lookups' days and times."""
    state = SandboxState(credentials or Credentials.of())
    reporter = (_Reporter(receipts_to, state.credentials, receipt_delay, receipt_retries,
                          receipt_retry_delay) if receipts_to else None)
    templates = load_templates()
    by_aliyun = {code: (t, lang) for t in templates.values()
                 for lang, code in t.aliyun_template_code.items()}
    by_tencent = {code: (t, lang) for t in templates.values()
                  for lang, code in t.tencent_template_id.items()}
    app = FastAPI(title="loyalty notification provider sandbox")
    app.state.sandbox = state
    app.state.reporter = reporter

    def record(entry: dict[str, Any]) -> None:
        if reporter is not None and not state.faults.drop_receipts:
            reporter.add(entry)
        state.counts[entry["channel"]] += 1
        state.sent.append(entry)
        if len(state.sent) > keep_messages:
            del state.sent[: len(state.sent) - keep_messages]

    def fault() -> str | None:
        state.calls += 1
        if state.faults.outage:
            return "outage"
        if state.faults.rate_limit > 0:
            state.faults.rate_limit -= 1
            return "rate_limit"
        return None

    # ---------------------------------------------------------------- WeChat

    @app.get("/wechat/cgi-bin/token")
    async def wechat_token(grant_type: str = "", appid: str = "", secret: str = ""):
        c = state.credentials
        if grant_type != "client_credential" or appid != c.wechat_app_id or not hmac.compare_digest(
                secret, c.wechat_app_secret):
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        token = secrets.token_urlsafe(32)
        state.tokens[token] = time.monotonic() + c.token_lifetime
        return {"access_token": token, "expires_in": c.token_lifetime}

    @app.post("/wechat/cgi-bin/message/template/send")
    async def wechat_send(request: Request, access_token: str = ""):
        if (trouble := fault()) == "outage":
            return JSONResponse({"errcode": -1, "errmsg": "system error"}, status_code=503)
        if trouble == "rate_limit":
            return {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
        expires = state.tokens.get(access_token)
        if expires is None:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        if expires < time.monotonic():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        body = await request.json()
        openid = body.get("touser", "")
        if openid in state.faults.not_following:
            return {"errcode": 43004, "errmsg": "require subscribe"}
        fields = {k: v.get("value", "") for k, v in body.get("data", {}).items()}
        too_long = [k for k, v in fields.items() if len(v) > 20]
        if too_long:
            return {"errcode": 47003, "errmsg": f"argument invalid! data.{too_long[0]}"}
        msgid = next(state.ids)
        record({"channel": "wechat", "provider": "wechat", "to": openid,
                "to_shown": openid[:4] + "***", "template": body.get("template_id"),
                "fields": fields, "message_id": body.get("client_msg_id"),
                "provider_message_id": str(msgid), "at": clock()})
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    # ---------------------------------------------------------------- Alibaba Cloud

    @app.api_route("/aliyun/", methods=["GET", "POST"])
    async def aliyun_send(request: Request):
        params = dict(request.query_params)
        if request.method == "POST":
            # Parsed by hand: form parsing in Starlette needs a package we do not depend on.
            params.update(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        request_id = secrets.token_hex(8)
        c = state.credentials
        expected = aliyun_sms.signature(request.method, params, c.aliyun_access_key_secret)
        if params.get("AccessKeyId") != c.aliyun_access_key_id:
            return JSONResponse({"Code": "InvalidAccessKeyId.NotFound", "RequestId": request_id},
                                status_code=404)
        if not hmac.compare_digest(expected, str(params.get("Signature", ""))):
            return JSONResponse({"Code": "SignatureDoesNotMatch", "RequestId": request_id,
                                 "Message": "Specified signature is not matched."},
                                status_code=400)
        if (trouble := fault()) == "outage":
            return JSONResponse({"Code": "ServiceUnavailable", "RequestId": request_id},
                                status_code=503)
        if trouble == "rate_limit":
            return {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控",
                    "RequestId": request_id}
        if params.get("Action") == "QuerySendDetails":
            return aliyun_details(params) | {"RequestId": request_id}
        number = str(params.get("PhoneNumbers", ""))
        if f"+86{number}" in state.faults.invalid_numbers or not number.isdigit():
            return {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号",
                    "RequestId": request_id}
        template, lang = by_aliyun.get(str(params.get("TemplateCode")), (None, "zh-CN"))
        if template is None:
            return {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "RequestId": request_id}
        values = json.loads(params.get("TemplateParam") or "{}")
        text = f"【{params.get('SignName')}】" + _sms_text(template, lang, values)
        biz_id = f"{next(state.ids)}^0"
        record({"channel": "sms", "provider": "aliyun", "to": f"+86{number}",
                "to_shown": mask_mobile(number), "template": template.name, "text": text,
                "message_id": params.get("OutId"), "provider_message_id": biz_id,
                "template_code": params.get("TemplateCode"), "at": clock()})
        return {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}

    # ---------------------------------------------------------------- Tencent Cloud

    @app.post("/tencent/")
    async def tencent_send(request: Request):
        raw = await request.body()
        request_id = secrets.token_hex(8)
        c = state.credentials
        headers = request.headers

        def error(code: str, message: str = "") -> dict:
            return {"Response": {"Error": {"Code": code, "Message": message},
                                 "RequestId": request_id}}

        try:
            timestamp = int(headers.get("x-tc-timestamp", ""))
        except ValueError:
            return error("MissingParameter", "X-TC-Timestamp")
        expected = tencent_sms.authorization(
            secret_id=c.tencent_secret_id, secret_key=c.tencent_secret_key,
            host=headers.get("host", ""), payload=raw.decode(), timestamp=timestamp,
            content_type=headers.get("content-type", ""))
        if not hmac.compare_digest(expected, headers.get("authorization", "")):
            return error("AuthFailure.SignatureFailure", "The provided credentials could not "
                         "be validated.")
        if abs(time.time() - timestamp) > 300:
            return error("AuthFailure.SignatureExpire")
        if (trouble := fault()) == "outage":
            return JSONResponse(error("InternalError", "service unavailable"), status_code=503)
        if trouble == "rate_limit":
            return error("RequestLimitExceeded", "request limit exceeded")
        body = json.loads(raw)
        if headers.get("x-tc-action") == "PullSmsSendStatusByPhoneNumber":
            return {"Response": {"PullSmsSendStatusSet": tencent_statuses(body),
                                 "RequestId": request_id}}
        number = (body.get("PhoneNumberSet") or [""])[0]
        template, lang = by_tencent.get(str(body.get("TemplateId")), (None, "zh-CN"))
        status: dict[str, Any] = {"PhoneNumber": number, "SessionContext":
                                  body.get("SessionContext", ""), "IsoCode": "CN", "Fee": 1}
        if number in state.faults.invalid_numbers:
            status |= {"Code": "InvalidParameterValue.IncorrectPhoneNumber",
                       "Message": "incorrect phone number", "SerialNo": "", "Fee": 0}
        elif template is None:
            status |= {"Code": "FailedOperation.TemplateIncorrectOrUnapproved",
                       "SerialNo": "", "Fee": 0}
        else:
            values = dict(zip(template.sms_params, body.get("TemplateParamSet", []),
                              strict=False))
            serial = f"2106:{next(state.ids)}"
            status |= {"Code": "Ok", "Message": "send success", "SerialNo": serial}
            record({"channel": "sms", "provider": "tencent", "to": number,
                    "to_shown": mask_mobile(number), "template": template.name,
                    "text": f"【{body.get('SignName')}】" + _sms_text(template, lang, values),
                    "message_id": body.get("SessionContext"), "provider_message_id": serial,
                    "at": clock()})
        return {"Response": {"SendStatusSet": [status], "RequestId": request_id}}

    # ---------------------------------------------------------------- the lookups

    def aliyun_details(params: dict[str, str]) -> dict[str, Any]:
        """QuerySendDetails: the number's sends on SendDate (China time), a page of them."""
        number, day = str(params.get("PhoneNumber", "")), str(params.get("SendDate", ""))
        size = min(max(int(params.get("PageSize") or 10), 1), 50)
        page = max(int(params.get("CurrentPage") or 1), 1)
        sends = [m for m in state.sent if m["provider"] == "aliyun"
                 and m["to"] == f"+86{number}" and _china(m["at"], "%Y%m%d") == day]
        return {"Code": "OK", "Message": "OK", "TotalCount": len(sends),
                "SmsSendDetailDTOs": {"SmsSendDetailDTO": [{
                    "PhoneNum": number, "SendStatus": 3, "ErrCode": "DELIVERED",
                    "TemplateCode": m["template_code"], "Content": m["text"],
                    "SendDate": _china(m["at"], "%Y-%m-%d %H:%M:%S"),
                    "ReceiveDate": _china(m["at"], "%Y-%m-%d %H:%M:%S"),
                    "OutId": m["message_id"] or ""}
                    for m in sends[(page - 1) * size:page * size]]}}

    def tencent_statuses(body: dict[str, Any]) -> list[dict[str, Any]]:
        """PullSmsSendStatusByPhoneNumber: the number's statuses from BeginTime on."""
        number = str(body.get("PhoneNumber", ""))
        begin, end = int(body.get("BeginTime") or 0), body.get("EndTime")
        return [{"UserReceiveTime": int(m["at"]), "CountryCode": "86",
                 "SubscriberNumber": number.removeprefix("+86"), "PhoneNumber": number,
                 "SerialNo": m["provider_message_id"], "ReportStatus": "SUCCESS",
                 "Description": "DELIVRD", "SessionContext": m["message_id"] or ""}
                for m in state.sent if m["provider"] == "tencent" and m["to"] == number
                and begin <= m["at"] and (end is None or m["at"] <= int(end))
                ][:min(int(body.get("Limit") or 100), 100)]

    # ---------------------------------------------------------------- for people and tests

    @app.get("/messages")
    async def messages(limit: int = 100):
        return [{k: v for k, v in m.items() if k != "to"} for m in state.sent[-limit:]]

    @app.get("/stats")
    async def stats():
        return {**state.counts, "calls": state.calls}

    @app.post("/faults")
    async def set_faults(request: Request):
        body = await request.json()
        f = state.faults
        f.outage = bool(body.get("outage", f.outage))
        f.rate_limit = int(body.get("rate_limit", f.rate_limit))
        f.invalid_numbers |= set(body.get("invalid_numbers", []))
        f.not_following |= set(body.get("not_following", []))
        f.drop_receipts = bool(body.get("drop_receipts", f.drop_receipts))
        return {"outage": f.outage, "rate_limit": f.rate_limit,
                "drop_receipts": f.drop_receipts}

    @app.post("/replies")
    async def reply(request: Request):
        body = await request.json()
        if reporter is None:
            return JSONResponse({"error": "started without receipts_to"}, status_code=409)
        return {"status": await reporter.reply(str(body.get("provider", "aliyun")),
                                               str(body["from"]), str(body.get("text", "")))}

    @app.delete("/faults")
    async def clear_faults():
        state.faults = Faults()
        return {"cleared": True}

    @app.get("/", response_class=HTMLResponse)
    async def page():
        rows = "".join(
            f"<tr><td>{time.strftime('%H:%M:%S', time.localtime(m['at']))}</td>"
            f"<td>{m['channel']}/{m['provider']}</td><td>{html.escape(m['to_shown'])}</td>"
            f"<td>{html.escape(str(m['template']))}</td>"
            f"<td>{html.escape(m.get('text') or json.dumps(m.get('fields'), ensure_ascii=False))}"
            f"</td></tr>" for m in reversed(state.sent[-200:]))
        return ("<html><head><meta charset='utf-8'><title>sandbox</title></head><body>"
                "<h1>Sent by the notification sandbox</h1><table border=1 cellpadding=4>"
                "<tr><th>time</th><th>channel</th><th>to</th><th>template</th><th>content</th>"
                f"</tr>{rows}</table></body></html>")

    return app


class _Reporter:
    """Sends delivery receipts for accepted messages to the service, in the providers'
    formats, every `delay` seconds (started with the first message); a push not taken is
    tried again `retries` times, `retry_delay` seconds apart, then dropped."""

    def __init__(self, base: str, credentials: Credentials, delay: float, retries: int = 3,
                 retry_delay: float = 2.0) -> None:
        self._base = base.rstrip("/")
        self._credentials = credentials
        self._delay = delay
        self._retries = retries
        self._retry_delay = retry_delay
        self._pending: list[dict[str, Any]] = []
        self._task: asyncio.Task | None = None
        #: How to reach the service (tests: an in-process ASGI transport).
        self.transport: httpx.AsyncBaseTransport | None = None
        #: Pushes given up on after their retries.
        self.dropped = 0

    def add(self, entry: dict[str, Any]) -> None:
        self._pending.append(entry)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        while self._pending:  # those accepted while a push was retried too
            await asyncio.sleep(self._delay)
            batch, self._pending = self._pending, []
            async with httpx.AsyncClient(timeout=5, transport=self.transport) as client:
                for push in self._pushes(batch):
                    await self._push(client, push)

    async def _push(self, client: httpx.AsyncClient,
                    push: Callable[[], tuple[str, dict[str, Any]]]) -> None:
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(self._retry_delay)
            url, request = push()  # afresh: WeChat's signature is timed
            with contextlib.suppress(httpx.HTTPError):
                if (await client.post(url, **request)).status_code < 500:
                    return
        self.dropped += 1

    def _pushes(self, batch: list[dict[str, Any]]
                ) -> list[Callable[[], tuple[str, dict[str, Any]]]]:
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        c = self._credentials
        pushes: list[Callable[[], tuple[str, dict[str, Any]]]] = []
        aliyun = [{"phone_number": m["to"].removeprefix("+86"), "send_time": now,
                   "report_time": now, "success": True, "err_code": "DELIVERED",
                   "err_msg": "用户接收成功", "sms_size": "1",
                   "biz_id": m["provider_message_id"], "out_id": m["message_id"]}
                  for m in batch if m["provider"] == "aliyun"]
        if aliyun:
            pushes.append(lambda: (
                f"{self._base}/aliyun/sms-report/{c.aliyun_callback_secret}", {"json": aliyun}))
        tencent = [{"user_receive_time": now, "nationcode": "86",
                    "mobile": m["to"].removeprefix("+86"), "report_status": "SUCCESS",
                    "errmsg": "DELIVRD", "description": "用户短信送达成功",
                    "sid": m["provider_message_id"]}
                   for m in batch if m["provider"] == "tencent"]
        if tencent:
            pushes.append(lambda: (
                f"{self._base}/tencent/sms-status/{c.tencent_callback_secret}",
                {"json": tencent}))
        for m in (m for m in batch if m["provider"] == "wechat"):
            pushes.append(lambda m=m: self._wechat_push(m))
        return pushes

    async def reply(self, provider: str, sender: str, text: str) -> int:
        """Push a member's reply (SmsUp, the SMS reply callback, a WeChat unsubscribe) now;
        returns the service's status code."""
        c, now = self._credentials, time.time()
        mobile = sender.removeprefix("+86")
        if provider == "wechat":
            url, request = self._wechat_push({"to": sender}, event="unsubscribe")
        elif provider == "tencent":
            url, request = (f"{self._base}/tencent/sms-reply/{c.tencent_callback_secret}", {
                "json": {"extend": "", "mobile": mobile, "nationcode": "86",
                         "sign": "XX银行", "text": text, "time": int(now)}})
        else:
            url, request = (f"{self._base}/aliyun/sms-up/{c.aliyun_callback_secret}", {
                "json": [{"phone_number": mobile, "content": text, "sign_name": "XX银行",
                          "send_time": _china(now, "%Y-%m-%d %H:%M:%S"), "dest_code": "1234",
                          "sequence_id": secrets.randbelow(10**10)}]})
        async with httpx.AsyncClient(timeout=5, transport=self.transport) as client:
            return (await client.post(url, **request)).status_code

    def _wechat_push(self, m: dict[str, Any], event: str = "TEMPLATESENDJOBFINISH"
                     ) -> tuple[str, dict[str, Any]]:
        c = self._credentials
        timestamp = str(int(time.time()))
        nonce = str(secrets.randbelow(10**10))
        signature = hashlib.sha1("".join(sorted(
            [c.wechat_callback_token, timestamp, nonce])).encode()).hexdigest()
        xml = (f"<xml><ToUserName>gh_sandbox</ToUserName><FromUserName>{m['to']}"
               f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType>event"
               f"</MsgType><Event>{event}</Event>"
               + (f"<MsgID>{m['provider_message_id']}</MsgID><Status>success</Status>"
                  if event == "TEMPLATESENDJOBFINISH" else "") + "</xml>")
        return f"{self._base}/wechat", {"content": xml, "params": {
            "signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": m["to"]}}


def _china(at: float, layout: str) -> str:
    return datetime.fromtimestamp(at, CHINA).strftime(layout)


def _sms_text(template, lang: str, values: dict[str, str]) -> str:
    """What the provider sends: its registered text with the variables filled in (the
    opt-out line is part of a marketing template's registered text)."""
    text = _Text(template.sms_text[lang]).safe_substitute(values)
    if template.category == "marketing":
        text += (" " if lang == "en-US" else "") + OPT_OUT[lang]
    return text
