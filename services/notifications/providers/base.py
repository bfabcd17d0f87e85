"""What the sender needs from a provider, and the HTTP failures every adapter maps alike.

An SMS provider can also be asked what it received under our message id (`status`): the
sender asks before it settles a send its sender died during. WeChat cannot: its template
messages have no lookup by our id."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import httpx

from ..domain.delivery import Lookup, Result
from ..domain.templates import Rendered, Template
from .http import Answer, Http


class SmsProvider(Protocol):
    name: str

    async def send_sms(self, mobile: str, template: Template, rendered: Rendered,
                       message_id: str) -> Result: ...

    async def status(self, mobile: str, message_id: str, since: datetime,
                     now: datetime) -> Lookup:
        """Whether the provider received `message_id` for `mobile`, sent between `since`
        and `now`."""
        ...


class WechatProvider(Protocol):
    name: str

    async def send_template(self, openid: str, template: Template, rendered: Rendered,
                            message_id: str) -> Result: ...


#: Errors on the way (connection refused or reset, timeouts): the request may not have
#: arrived, so it is tried again later.
TRANSPORT_ERRORS = (httpx.TransportError,)
#: Those before the request left (no connection, none free): it certainly did not arrive.
#: Any other may have come after the provider got it: its outcome is unsure.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                   httpx.UnsupportedProtocol, httpx.LocalProtocolError)


def http_failure(answer: Answer) -> Result | None:
    """5xx and 429 are transient; None when the body must be read to decide."""
    if answer.status >= 500 or answer.status == 429:
        return Result("transient", code=f"http_{answer.status}")
    return None


def transport_failure(exc: Exception) -> Result:
    return Result("transient", code=type(exc).__name__,
                  unsure=not isinstance(exc, NOT_SENT_ERRORS))


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


async def post_and_read(client: Http, url: str, headers: Mapping[str, str], body: bytes,
                        read: Callable[[Any], Lookup]) -> Lookup:
    """POST a provider query; any failure on the way is an answer that says nothing."""
    try:
        response = await client.request("POST", url, headers=headers, content=body)
    except TRANSPORT_ERRORS as exc:
        return Lookup(None, code=type(exc).__name__)
    if response.status >= 500 or response.status == 429:
        return Lookup(None, code=f"http_{response.status}")
    try:
        return read(response.json())
    except (ValueError, AttributeError, TypeError):
        return Lookup(None, code=f"http_{response.status}_unreadable")
