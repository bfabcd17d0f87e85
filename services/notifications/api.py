"""HTTP routes: the providers' delivery-receipt and reply callbacks, each authenticated the
way its provider documents, then parsed into receipts for handlers/receipts.py (which settles
the messages and emits the events) and into members' replies for handlers/opt_outs.py (a
stop keyword or an unfollow withdraws the marketing consent).

    POST /callbacks/aliyun/sms-report/<secret>   Alibaba Cloud SmsReport push (JSON array)
    POST /callbacks/aliyun/sms-up/<secret>       Alibaba Cloud SmsUp push: SMS replies (JSON
                                                 array of phone_number, content, send_time,
                                                 dest_code, sequence_id)
    POST /callbacks/tencent/sms-status/<secret>  Tencent Cloud SMS status callback (JSON array)
    POST /callbacks/tencent/sms-reply/<secret>   Tencent Cloud SMS reply callback (a JSON
                                                 object of mobile, nationcode, text, time,
                                                 sign, extend; an array of them is taken too)
    GET|POST /callbacks/wechat                   WeChat server URL check and event push (XML);
                                                 TEMPLATESENDJOBFINISH carries the result,
                                                 unsubscribe an unfollow (FromUserName)

How each caller is authenticated:
- WeChat Official Account (plaintext mode) signs every request to the server URL:
  `signature` = hex SHA-1 of the token, `timestamp` and `nonce` sorted and joined
  (developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html).
  That signature does not cover the body, so, our addition, the timestamp must also be
  within CALLBACK_MAX_AGE_SECONDS of our clock: a leaked signed URL is good that long (the
  account is configured in plaintext mode, not the AES "safe mode").
- Alibaba Cloud SMS's HTTP batch push (SmsReport, help.aliyun.com/document_detail/101867)
  and Tencent Cloud SMS's status callback (cloud.tencent.com/document/api/382/5807)
  document no signature and publish no addresses they push from: all either documents is
  the callback URL configured in its console. So that URL ends in a secret
  (ALIYUN_CALLBACK_SECRET, TENCENT_CALLBACK_SECRET), compared in constant time; it must
  stay out of access logs (the runtime serves without them; a proxy in front must too).
  The reply pushes (help.aliyun.com/zh/sms/developer-reference/smsup-http,
  cloud.tencent.com/document/api/382/5809) are configured the same way, with the same
  secret as the provider's receipts.
  Alibaba's other receipt mode, pulling from an MNS queue with our AccessKey, is not used.

A caller failing its check gets 401 before its body is read, and nothing is recorded. Every
error answers `{code, message}` (`ErrorBody`: runtime/errors.py, for every service).
Replays of a genuine receipt change nothing: a message is settled once; nor do replays
of a reply: a reply is recorded once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from runtime.errors import ErrorBody

from .domain.opt_out import Reply, china_e164
from .handlers.opt_outs import OnReplies
from .handlers.receipts import OnReceipts, Receipt
from .settings import NotificationsSettings

#: The most a receipt push may carry (Alibaba Cloud batches them; each is ~300 bytes).
MAX_BODY_BYTES = 1 << 20
_MAX_FIELD = 128
#: Alibaba Cloud's send_time is China's wall clock.
CHINA = ZoneInfo("Asia/Shanghai")


class AliyunAck(BaseModel):
    code: int
    msg: str


class TencentAck(BaseModel):
    result: int
    errmsg: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description} for status, description in (
        (400, "not the provider's format"), (401, "not authenticated as the provider"),
        (413, "body over 1 MiB"))}


def receipts_router(record: OnReceipts, settings: NotificationsSettings, replies: OnReplies,
                    now: Callable[[], datetime]) -> APIRouter:
    router = APIRouter(prefix="/callbacks", tags=["delivery receipts"], responses=_ERRORS)
    aliyun_secret, tencent_secret = (settings.callback_secret(p) for p in ("aliyun", "tencent"))
    wechat_token = settings.wechat_callback_token.get_secret_value()
    max_age = settings.callback_max_age_seconds

    @router.post("/aliyun/sms-report/{secret}", response_model=AliyunAck)
    async def aliyun_report(secret: str, request: Request) -> AliyunAck:
        _check_secret(secret, aliyun_secret)
        await record([Receipt(
            "aliyun", _text(r, "biz_id"), _text(r, "out_id") or None,
            _flag(r, "success"), _text(r, "err_code")) for r in await _reports(request)])
        return AliyunAck(code=0, msg="成功")

    @router.post("/tencent/sms-status/{secret}", response_model=TencentAck)
    async def tencent_status(secret: str, request: Request) -> TencentAck:
        _check_secret(secret, tencent_secret)
        await record([Receipt(
            "tencent", _text(r, "sid"), None, _text(r, "report_status") == "SUCCESS",
            _text(r, "errmsg")) for r in await _reports(request)])
        return TencentAck(result=0, errmsg="OK")

    @router.post("/aliyun/sms-up/{secret}", response_model=AliyunAck)
    async def aliyun_up(secret: str, request: Request) -> AliyunAck:
        _check_secret(secret, aliyun_secret)
        await replies(aliyun_replies(await _reports(request), now()))
        return AliyunAck(code=0, msg="接收成功")

    @router.post("/tencent/sms-reply/{secret}", response_model=TencentAck)
    async def tencent_reply(secret: str, request: Request) -> TencentAck:
        _check_secret(secret, tencent_secret)
        await replies(tencent_replies(await _reports(request, one_or_many=True)))
        return TencentAck(result=0, errmsg="OK")

    @router.post("/aliyun/sms-report", include_in_schema=False)
    @router.post("/aliyun/sms-up", include_in_schema=False)
    @router.post("/tencent/sms-status", include_in_schema=False)
    @router.post("/tencent/sms-reply", include_in_schema=False)
    async def without_secret() -> None:
        raise HTTPException(401, "this callback URL needs its secret")

    def check_signature(request: Request) -> None:
        q = request.query_params
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12
                and nonce.isascii() and len(nonce) <= 64
                and abs(time.time() - int(timestamp)) <= max_age):
            raise HTTPException(401, "signature missing, wrong or expired")
        expected = hashlib.sha1("".join(sorted([wechat_token, timestamp, nonce])).encode())
        if not hmac.compare_digest(expected.hexdigest().encode(),
                                   q.get("signature", "").encode()):
            raise HTTPException(401, "signature missing, wrong or expired")

    @router.get("/wechat", response_class=PlainTextResponse)
    async def wechat_verify(request: Request) -> str:
        check_signature(request)
        return request.query_params.get("echostr", "")

    @router.post("/wechat", response_class=PlainTextResponse)
    async def wechat_event(request: Request) -> str:
        check_signature(request)
        root = _xml(await _body(request))
        if root.findtext("Event") == "TEMPLATESENDJOBFINISH":
            status = _field(root.findtext("Status") or "")
            await record([Receipt("wechat", _field(root.findtext("MsgID") or ""), None,
                                  status == "success", status)])
        elif reply := wechat_unfollow(root):
            await replies([reply])
        return "success"

    return router


def _check_secret(given: str, expected: bytes | None) -> None:
    if expected is None or not hmac.compare_digest(given.encode(), expected):
        raise HTTPException(401, "this callback URL needs its secret")


async def _body(request: Request) -> bytes:
    """The body, refused past MAX_BODY_BYTES without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared[:12]) > MAX_BODY_BYTES:
        raise HTTPException(413, f"bodies are at most {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(413, f"bodies are at most {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _reports(request: Request, *, one_or_many: bool = False) -> list[dict]:
    """The JSON array of reports (`one_or_many`: or a single one, as Tencent Cloud's reply
    callback sends)."""
    try:
        body = json.loads(await _body(request))
    except (ValueError, RecursionError):
        raise HTTPException(400, "expected a JSON array of reports") from None
    if one_or_many and isinstance(body, dict):
        body = [body]
    if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
        raise HTTPException(400, "expected a JSON array of reports")
    return body


def aliyun_replies(reports: list[dict], now: datetime) -> list[Reply]:
    """SmsUp: phone_number (11 digits), content, send_time (China time, "2017-09-01
    00:00:00"; when unreadable, our clock), sequence_id (its id of the reply)."""
    return [Reply("aliyun", "sms_reply", china_e164(_text(r, "phone_number")),
                  _reply_text(r, "content"), _china_time(_text(r, "send_time")) or now,
                  "aliyun:" + (_text(r, "sequence_id") or ":".join(
                      _reply_text(r, k) for k in ("phone_number", "send_time", "content"))))
            for r in reports]


def tencent_replies(reports: list[dict]) -> list[Reply]:
    """Reply callback: mobile, nationcode, text, time (Unix seconds). It carries no id of
    the reply: number, time and text make one."""
    replies = []
    for r in reports:
        mobile, stamp, text = _text(r, "mobile"), _text(r, "time"), _reply_text(r, "text")
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            raise HTTPException(400, "time: expected Unix seconds")
        replies.append(Reply("tencent", "sms_reply",
                             china_e164(mobile, _text(r, "nationcode") or "86"), text,
                             datetime.fromtimestamp(int(stamp), UTC),
                             f"tencent:{mobile}:{stamp}:{text}"))
    return replies


def wechat_unfollow(root: ET.Element) -> Reply | None:
    """An `unsubscribe` event: the member (FromUserName, the openid) unfollowed the
    account at CreateTime (Unix seconds)."""
    if root.findtext("MsgType") != "event" or root.findtext("Event") != "unsubscribe":
        return None
    openid = _field(root.findtext("FromUserName") or "")
    created = _field(root.findtext("CreateTime") or "")
    if not (created.isascii() and created.isdigit() and len(created) <= 12):
        raise HTTPException(400, "CreateTime: expected Unix seconds")
    return Reply("wechat", "wechat_unsubscribe", openid or None, "",
                 datetime.fromtimestamp(int(created), UTC), f"wechat:{openid}:{created}")


def _reply_text(report: dict, key: str) -> str:
    """A string or number field as text; any length (what a member wrote is never stored,
    and only a whole keyword matches: _text bounds the others)."""
    value = report.get(key, "")
    if isinstance(value, bool) or not isinstance(value, str | int | None):
        raise HTTPException(400, f"{key}: expected a string")
    return "" if value is None else str(value)


def _china_time(value: str) -> datetime | None:
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=CHINA)
        except ValueError:
            continue
    return None


def _text(report: dict, key: str) -> str:
    return _field(_reply_text(report, key))


def _flag(report: dict, key: str) -> bool:
    value = report.get(key)
    if not isinstance(value, bool):
        raise HTTPException(400, f"{key}: expected true or false")
    return value


def _field(value: str) -> str:
    if len(value) > _MAX_FIELD or "\x00" in value:
        raise HTTPException(400, f"fields are at most {_MAX_FIELD} characters, without NUL")
    return value


def _xml(body: bytes) -> ET.Element:
    if b"<!DOCTYPE" in body:  # entity declarations (and their expansion) live there
        raise HTTPException(400, "no document type declarations")
    try:
        return ET.fromstring(body)
    except ET.ParseError:
        raise HTTPException(400, "not XML") from None
