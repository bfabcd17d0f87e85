"""Tencent Cloud SMS `SendSms` and `PullSmsSendStatusByPhoneNumber` (API version
2021-01-11), signed with TC3-HMAC-SHA256 (API 3.0): a canonical request over the JSON body,
a credential scope of date/sms/tc3_request, and a signing key derived from "TC3" +
SecretKey, the UTC date and the service.

Our message id goes as SendSms's `SessionContext`, which the number's delivery statuses
(PullSmsSendStatusByPhoneNumber, up to 100 from a time on) carry back: `status` finds a
send by it. Statuses are the carriers' reports, so a send shows only once its report has
come: until `report_wait` after the send, not finding it says nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from ..domain.delivery import Lookup, Result
from ..domain.templates import Rendered, Template
from .base import post_and_classify, post_and_read
from .http import Http

SERVICE = "sms"
VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"

_INVALID_NUMBER = {"InvalidParameterValue.IncorrectPhoneNumber",
                   "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber"}
_BLOCKED = {"FailedOperation.PhoneNumberInBlacklist", "FailedOperation.PhoneNumberOnBlacklist"}


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def authorization(*, secret_id: str, secret_key: str, host: str, payload: str,
                  timestamp: int, service: str = SERVICE, content_type: str = CONTENT_TYPE
                  ) -> str:
    """The Authorization header for a POST of `payload` to https://`host`/."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")  # UTC, never local
    canonical_request = "\n".join([
        "POST", "/", "",
        f"content-type:{content_type}\nhost:{host}\n",
        "content-type;host",
        hashlib.sha256(payload.encode()).hexdigest(),
    ])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join([ALGORITHM, str(timestamp), scope,
                         hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders=content-type;host, "
            f"Signature={sig}")


def classify(body: Mapping) -> Result:
    response = body.get("Response", {})
    if error := response.get("Error"):
        code = str(error.get("Code", "unknown"))
        if code in _INVALID_NUMBER:
            return Result("permanent", code=code, reason="invalid_number")
        # Rate limits, internal errors and credential trouble: the messages wait for a fix.
        return Result("transient", code=code)
    statuses = response.get("SendStatusSet") or [{}]
    status = statuses[0]
    code = str(status.get("Code", "unknown"))
    if code == "Ok":
        return Result("sent", code=code, provider_message_id=status.get("SerialNo"))
    if code in _INVALID_NUMBER:
        return Result("permanent", code=code, reason="invalid_number")
    if code in _BLOCKED:
        return Result("permanent", code=code, reason="user_blocked")
    if code.startswith(("LimitExceeded.", "InternalError", "RequestLimitExceeded")):
        return Result("transient", code=code)
    return Result("permanent", code=code, reason="rejected")


class TencentSms:
    name = "tencent"

    def __init__(self, *, client: Http, base_url: str, secret_id: str,
                 secret_key: str, sdk_app_id: str, sign_name: str,
                 region: str = "ap-guangzhou", now: Callable[[], float] = time.time,
                 report_wait: timedelta = timedelta(minutes=10)) -> None:
        self._client = client
        self._url = base_url
        self._host = urlsplit(base_url).netloc
        self._secret_id = secret_id
        self._secret_key = secret_key
        self._app_id = sdk_app_id
        self._sign_name = sign_name
        self._region = region
        self._now = now
        self._report_wait = report_wait

    def request(self, mobile: str, template: Template, rendered: Rendered,
                message_id: str) -> tuple[dict[str, str], str]:
        payload = json.dumps({
            "PhoneNumberSet": [mobile], "SmsSdkAppId": self._app_id,
            "SignName": self._sign_name,
            "TemplateId": template.tencent_template_id[rendered.language],
            "TemplateParamSet": [rendered.sms_params[k] for k in template.sms_params],
            "SessionContext": message_id,
        }, ensure_ascii=False, separators=(",", ":"))
        return self._headers("SendSms", payload), payload

    def _headers(self, action: str, payload: str) -> dict[str, str]:
        timestamp = int(self._now())
        return {
            "Authorization": authorization(secret_id=self._secret_id,
                                           secret_key=self._secret_key, host=self._host,
                                           payload=payload, timestamp=timestamp),
            "Content-Type": CONTENT_TYPE, "Host": self._host, "X-TC-Action": action,
            "X-TC-Timestamp": str(timestamp), "X-TC-Version": VERSION,
            "X-TC-Region": self._region,
        }

    async def send_sms(self, mobile: str, template: Template, rendered: Rendered,
                       message_id: str) -> Result:
        headers, payload = self.request(mobile, template, rendered, message_id)
        return await post_and_classify(self._client, self._url, headers, payload.encode(),
                                       classify)

    async def status(self, mobile: str, message_id: str, since: datetime,
                     now: datetime) -> Lookup:
        """The number's delivery statuses from a minute before `since` to `now`: the one
        whose SessionContext is our id."""
        payload = json.dumps({
            "BeginTime": int(since.timestamp()) - 60, "EndTime": int(now.timestamp()) + 1,
            "Offset": 0,
            "Limit": 100, "PhoneNumber": mobile, "SmsSdkAppId": self._app_id,
        }, separators=(",", ":"))
        answer = await post_and_read(
            self._client, self._url, self._headers("PullSmsSendStatusByPhoneNumber", payload),
            payload.encode(), lambda body: read_statuses(body, message_id))
        if answer.found is False and now - since < self._report_wait:
            # its report may still come: ask again once it must have
            return Lookup(None, code="no_report_yet", ask_after=since + self._report_wait)
        return answer


def read_statuses(body: Mapping, message_id: str) -> Lookup:
    response = body.get("Response", {})
    if error := response.get("Error"):
        return Lookup(None, code=str(error.get("Code", "unknown")))
    for status in response.get("PullSmsSendStatusSet") or []:
        if status.get("SessionContext") == message_id:
            return Lookup(True, delivered=status.get("ReportStatus") == "SUCCESS",
                          failed=status.get("ReportStatus") == "FAIL",
                          provider_message_id=status.get("SerialNo"),
                          code=str(status.get("Description") or ""))
    return Lookup(False, code="not_found")
