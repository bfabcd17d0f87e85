"""WeChat Official Account template messages.

- Access token: GET /cgi-bin/token?grant_type=client_credential&appid=&secret= answers
  {access_token, expires_in}. It is cached and shared by all sends, refreshed by one caller
  at a time some minutes before it expires, and at once when WeChat says it is invalid or
  expired (errcode 40001, 40014, 42001).
- Send: POST /cgi-bin/message/template/send?access_token= with touser, template_id,
  data {key: {value}} and client_msg_id (WeChat sends one message per openid and id within
  ten minutes; a later repeat may reach the member again). There is no lookup by our id, so
  a call a crash interrupted is never repeated (handlers/sender.py).
- errcode -1 (busy) and the frequency limits are transient; any other refusal (43004 the
  user does not follow the account, 43101 the user refuses messages, 40003 bad openid)
  means the member must be reached by SMS instead.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from urllib.parse import quote, urlencode

from ..domain.delivery import Result
from ..domain.templates import Rendered, Template
from .base import TRANSPORT_ERRORS, http_failure, transport_failure
from .http import Http

_TOKEN_INVALID = {40001, 40014, 42001}
_TRANSIENT = {-1, 45009, 45011, 45047}
#: Refresh this long before WeChat's stated expiry (clocks and in-flight requests).
REFRESH_MARGIN_SECONDS = 300
_JSON = {"Content-Type": "application/json; charset=utf-8"}


class TokenError(Exception):
    """The token endpoint refused or failed; the send is retried later."""


class WechatOfficialAccount:
    name = "wechat"

    def __init__(self, *, client: Http, base_url: str, app_id: str,
                 app_secret: str, now: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._app_id = app_id
        self._secret = app_secret
        self._now = now
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        #: Token fetches so far (tests check the cache).
        self.token_fetches = 0

    async def access_token(self, *, stale: str | None = None) -> str:
        """The cached token; fetched when missing, near expiry, or equal to `stale` (the
        one WeChat just refused). One fetch at a time: the others wait and reuse it."""
        if self._token and self._token != stale and self._now() < self._expires_at:
            return self._token
        async with self._lock:
            if self._token and self._token != stale and self._now() < self._expires_at:
                return self._token
            query = urlencode({"grant_type": "client_credential", "appid": self._app_id,
                               "secret": self._secret})
            response = await self._client.request("GET", f"{self._base}/cgi-bin/token?{query}")
            self.token_fetches += 1
            if response.status != 200:
                raise TokenError(f"http_{response.status}")
            body = response.json()
            if "access_token" not in body:
                raise TokenError(f"errcode_{body.get('errcode')}")
            self._token = body["access_token"]
            lifetime = float(body.get("expires_in", 7200))
            self._expires_at = self._now() + max(lifetime - REFRESH_MARGIN_SECONDS,
                                                 lifetime / 2)
            return self._token

    async def send_template(self, openid: str, template: Template, rendered: Rendered,
                            message_id: str) -> Result:
        payload = json.dumps({
            "touser": openid, "template_id": template.wechat_template_id,
            "data": {key: {"value": value} for key, value in rendered.wechat_fields.items()},
            "client_msg_id": message_id,
        }, ensure_ascii=False).encode()
        stale = None
        for _ in range(2):  # the second round only after a refused token
            try:
                token = await self.access_token(stale=stale)
                response = await self._client.request(
                    "POST", f"{self._base}/cgi-bin/message/template/send?access_token="
                    + quote(token, safe=""), headers=_JSON, content=payload)
            except TRANSPORT_ERRORS as exc:
                return transport_failure(exc)
            except TokenError as exc:
                return Result("transient", code=f"token_{exc}")
            if failure := http_failure(response):
                return failure
            try:
                body = response.json()
            except ValueError:
                return Result("transient", code="unreadable")
            errcode = int(body.get("errcode", 0))
            if errcode == 0:
                return Result("sent", code="0", provider_message_id=str(body.get("msgid")))
            if errcode in _TOKEN_INVALID:
                stale = token
                continue
            if errcode in _TRANSIENT:
                return Result("transient", code=str(errcode))
            return Result("fallback", code=str(errcode))
        return Result("transient", code="token_refused")
