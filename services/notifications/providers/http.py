"""The little HTTP the providers need: a request in, status and body out.

Production uses `transport.KeepAliveTransport` directly (no per-request URL and model
building: the providers are called thousands of times a second); tests reach an
in-process sandbox through any httpx client (`HttpxHttp` over an ASGI transport). Both
raise httpx's TransportError family on network trouble."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class Http(Protocol):
    async def request(self, method: str, url: str, *,
                      headers: Mapping[str, str] | None = None,
                      content: bytes = b"") -> Answer: ...

    async def aclose(self) -> None: ...


class HttpxHttp:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def request(self, method: str, url: str, *,
                      headers: Mapping[str, str] | None = None,
                      content: bytes = b"") -> Answer:
        response = await self._client.request(method, url, headers=headers, content=content)
        return Answer(response.status_code, response.content)

    async def aclose(self) -> None:
        await self._client.aclose()
