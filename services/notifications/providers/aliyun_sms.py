"""Alibaba Cloud SMS `SendSms` and `QuerySendDetails` (API version 2017-05-25), RPC style
with signature v1: HMAC-SHA1 over "POST&%2F&" + the percent-encoded canonicalized query,
keyed with the AccessKey secret + "&". Sent as a form POST so the phone number never
appears in a URL.

Our message id goes as SendSms's `OutId`; QuerySendDetails lists a number's sends of one
day (China time, 50 a page) with their OutId and SendStatus (1 awaiting the receipt, 2
failed, 3 delivered): `status` finds a send by it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import quote
from zoneinfo import ZoneInfo

from ..domain.delivery import Lookup, Result
from ..domain.templates import Rendered, Template
from .base import post_and_classify, post_and_read
from .http import Http

VERSION = "2017-05-25"
#: QuerySendDetails's days are China's.
CHINA = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 50
#: Pages read per day at most (a member gets a few messages a day: the cap).
MAX_PAGES = 4
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
#: Codes that can never succeed for this number.
_INVALID_NUMBER = {"isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT"}
_BLOCKED = {"isv.BLACK_KEY_CONTROL_LIMIT", "isv.DAY_LIMIT_CONTROL_BLACK"}
#: Rate limits and provider trouble: try again later. Credential errors too: they are
#: operations' to fix, and the messages must survive until they do.
_TRANSIENT = {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling", "isp.SYSTEM_ERROR",
              "isp.RAM_PERMISSION_DENY", "ServiceUnavailable", "InternalError",
              "SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound",
              "SignatureNonceUsed", "InvalidTimeStamp.Expired"}


@lru_cache(maxsize=1024)  # most parameters repeat on every request
def percent_encode(value: str) -> str:
    """RFC 3986 as Alibaba Cloud specifies it: only A-Z a-z 0-9 - _ . ~ stay as they are
    (so a space is %20, "*" is %2A and "~" is kept)."""
    return quote(value, safe="~")


def canonicalized_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}"
                    for k, v in sorted(params.items()) if k != "Signature")


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonicalized_query(params))}"


def signature(method: str, params: Mapping[str, str], access_key_secret: str) -> str:
    return _sign(method, canonicalized_query(params), access_key_secret)


def _sign(method: str, canonical: str, access_key_secret: str) -> str:
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode_long(canonical)}"
    digest = hmac.new(f"{access_key_secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def percent_encode_long(value: str) -> str:
    """percent_encode for the one-off canonical string (not worth caching)."""
    return quote(value, safe="~")


def classify(body: Mapping) -> Result:
    code = str(body.get("Code", ""))
    if code == "OK":
        return Result("sent", code=code, provider_message_id=body.get("BizId"))
    if code in _INVALID_NUMBER:
        return Result("permanent", code=code, reason="invalid_number")
    if code in _BLOCKED:
        return Result("permanent", code=code, reason="user_blocked")
    if code in _TRANSIENT or code.startswith("isp."):
        return Result("transient", code=code)
    return Result("permanent", code=code or "unknown", reason="rejected")


def read_details(body: Mapping, message_id: str) -> Lookup:
    """One QuerySendDetails page: the send with OutId `message_id`, or not found (code
    "more" when later pages may hold it)."""
    if body.get("Code") != "OK":
        return Lookup(None, code=str(body.get("Code") or "unknown"))
    details = (body.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
    for detail in details:
        if str(detail.get("OutId") or "") == message_id:
            status = int(detail.get("SendStatus") or 0)
            return Lookup(True, delivered=status == 3, failed=status == 2,
                          code=str(detail.get("ErrCode") or ""))
    return Lookup(False, code="more" if len(details) >= PAGE_SIZE else "not_found")


class AliyunSms:
    name = "aliyun"

    def __init__(self, *, client: Http, base_url: str, access_key_id: str,
                 access_key_secret: str, sign_name: str, region: str = "cn-hangzhou",
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._client = client
        self._url = base_url
        self._key_id = access_key_id
        self._secret = access_key_secret
        self._sign_name = sign_name
        self._region = region
        self._now = now

    def request_body(self, mobile: str, template: Template, rendered: Rendered,
                     message_id: str, nonce: str | None = None) -> bytes:
        """SendSms's signed form body."""
        return self._signed({
            "Action": "SendSms", "PhoneNumbers": mobile.removeprefix("+86"),
            "SignName": self._sign_name,
            "TemplateCode": template.aliyun_template_code[rendered.language],
            "TemplateParam": json.dumps(rendered.sms_params, ensure_ascii=False,
                                        separators=(",", ":")),
            "OutId": message_id}, nonce)

    def _signed(self, action: dict[str, str], nonce: str | None = None) -> bytes:
        """The signed form body of an action: the canonicalized query itself plus the
        signature."""
        params = {
            "AccessKeyId": self._key_id, "Format": "JSON", "RegionId": self._region,
            "SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce or uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": self._now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": VERSION, **action,
        }
        canonical = canonicalized_query(params)
        sig = _sign("POST", canonical, self._secret)
        return f"{canonical}&Signature={percent_encode_long(sig)}".encode()

    async def send_sms(self, mobile: str, template: Template, rendered: Rendered,
                       message_id: str) -> Result:
        body = self.request_body(mobile, template, rendered, message_id)
        return await post_and_classify(self._client, self._url, _FORM, body, classify)

    async def status(self, mobile: str, message_id: str, since: datetime,
                     now: datetime) -> Lookup:
        """QuerySendDetails for the number, day by day from `since`'s to `now`'s (China
        time), page by page, until a send with our id as OutId shows."""
        first = since.astimezone(CHINA).date()
        days = min((now.astimezone(CHINA).date() - first).days, 30)  # it keeps 30 days
        for day in (first + timedelta(days=n) for n in range(max(days, 0) + 1)):
            for page in range(1, MAX_PAGES + 1):
                body = self._signed({
                    "Action": "QuerySendDetails", "PhoneNumber": mobile.removeprefix("+86"),
                    "SendDate": day.strftime("%Y%m%d"), "PageSize": str(PAGE_SIZE),
                    "CurrentPage": str(page)})
                answer = await post_and_read(self._client, self._url, _FORM, body,
                                             lambda b: read_details(b, message_id))
                if answer.found is not False:
                    return answer  # found, or no answer
                if answer.code != "more":
                    break
            else:  # pages left unread: it may be on one of them
                return Lookup(None, code="too_many_sends")
        return Lookup(False, code="not_found")
