"""What the sender needs from a provider, and the HTTP failures every adapter maps alike."""

from __future__ import annotations

from typing import Protocol

import httpx

from ..domain.delivery import Result
from ..domain.templates import Rendered, Template


class SmsProvider(Protocol):
    name: str

    async def send_sms(self, mobile: str, template: Template, rendered: Rendered,
                       message_id: str) -> Result: ...


class WechatProvider(Protocol):
    name: str

    async def send_template(self, openid: str, template: Template, rendered: Rendered,
                            message_id: str) -> Result: ...


#: Errors on the way (connection refused or reset, timeouts): the request may not have
#: arrived, so it is tried again later.
TRANSPORT_ERRORS = (httpx.TransportError,)


def http_failure(response: httpx.Response) -> Result | None:
    """5xx and 429 are transient; None when the body must be read to decide."""
    if response.status_code >= 500 or response.status_code == 429:
        return Result("transient", code=f"http_{response.status_code}")
    return None


def transport_failure(exc: Exception) -> Result:
    return Result("transient", code=type(exc).__name__)
