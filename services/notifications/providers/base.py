"""What the sender needs from a provider, and the HTTP failures every adapter maps alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

from ..domain.delivery import Result
from ..domain.templates import Rendered, Template
from .http import Answer, Http


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


def http_failure(answer: Answer) -> Result | None:
    """5xx and 429 are transient; None when the body must be read to decide."""
    if answer.status >= 500 or answer.status == 429:
        return Result("transient", code=f"http_{answer.status}")
    return None


def transport_failure(exc: Exception) -> Result:
    return Result("transient", code=type(exc).__name__)


async def post_and_classify(client: Http, url: str, headers: Mapping[str, str], body: bytes,
                            classify: Callable[[Any], Result]) -> Result:
    """POST a provider request; transport errors, 5xx and 429 are transient, otherwise the
    provider's JSON answer decides (`classify`)."""
    try:
        response = await client.request("POST", url, headers=headers, content=body)
    except TRANSPORT_ERRORS as exc:
        return transport_failure(exc)
    if failure := http_failure(response):
        return failure
    try:
        return classify(response.json())
    except ValueError:
        return Result("transient", code=f"http_{response.status}_unreadable")
