"""A lean HTTP/1.1 keep-alive client on asyncio streams, for the provider calls.

Why: the providers are called a few thousand times a second, one small request each.
httpx's default transport (httpcore) spends over a millisecond of CPU per request here
(connection-pool scans, and a failed `import sniffio` on every request when it is not
installed), and its request/response models a good part of the rest. This keeps a plain
pool of idle connections per origin and parses responses itself (Content-Length or
chunked). Only what the provider APIs use: no proxies, no HTTP/2, no compression. Errors
are httpx's TransportError family, as with httpx. It is also an httpx transport, for
callers that want httpx's API.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import defaultdict
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import urlsplit

import httpx

from .http import Answer

_Origin = tuple[str, str, int]


@lru_cache(maxsize=256)
def _split(url: str) -> tuple[_Origin, str, str]:
    """(origin, Host header, request target) of a URL; the providers use a handful."""
    parts = urlsplit(url)
    scheme = parts.scheme or "http"
    port = parts.port or (443 if scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (scheme, parts.hostname or "", port), parts.netloc, target


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class _StaleConnection(Exception):
    """The server closed an idle keep-alive connection before answering."""


class KeepAliveTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_connections: int = 64, timeout: float = 5.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[_Origin, list[_Connection]] = defaultdict(list)
        self._timeout = timeout
        self._ssl = ssl_context

    async def request(self, method: str, url: str, *,
                      headers: Mapping[str, str] | None = None,
                      content: bytes = b"") -> Answer:
        origin, host, target = _split(url)
        status, _, body = await self._send(method, origin, host, target,
                                           list((headers or {}).items()), content)
        return Answer(status, body)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin, host, target = _split(str(request.url))
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        status, answer_headers, body = await self._send(
            request.method, origin, host, target, headers, request.content)
        return httpx.Response(status, headers=answer_headers, content=body, request=request)

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    # ------------------------------------------------------------------ internals

    async def _send(self, method: str, origin: _Origin, host: str, target: str,
                    headers: list[tuple[str, str]], body: bytes):
        data = self._head(method, host, target, headers, len(body)) + body
        async with self._slots:
            for reused in (True, False):
                conn = self._idle[origin].pop() if reused and self._idle[origin] else None
                if conn is None:
                    reused = False
                    conn = await self._connect(origin)
                try:
                    status, answer_headers, content, keep = await asyncio.wait_for(
                        self._exchange(conn, data, method), self._timeout)
                except _StaleConnection:
                    conn.close()
                    if reused:
                        continue  # the server had closed the idle connection: a fresh one
                    raise httpx.RemoteProtocolError("connection closed") from None
                except TimeoutError as exc:
                    conn.close()
                    raise httpx.ReadTimeout("provider did not answer in time") from exc
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    conn.close()
                    raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc
                if keep:
                    self._idle[origin].append(conn)
                else:
                    conn.close()
                return status, answer_headers, content
        raise AssertionError("unreachable")

    @staticmethod
    def _head(method: str, host: str, target: str, headers: list[tuple[str, str]],
              length: int) -> bytes:
        lines = [f"{method} {target} HTTP/1.1"]
        skip = {"content-length", "transfer-encoding", "connection"}
        names = set()
        for name, value in headers:
            lowered = name.lower()
            names.add(lowered)
            if lowered not in skip:
                lines.append(f"{name}: {value}")
        if "host" not in names:
            lines.insert(1, f"Host: {host}")
        if method not in ("GET", "HEAD") or length:
            lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    async def _connect(self, origin: _Origin) -> _Connection:
        scheme, host, port = origin
        context = (self._ssl or ssl.create_default_context()) if scheme == "https" else None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=context), self._timeout)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("connect timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from exc
        return _Connection(reader, writer)

    async def _exchange(self, conn: _Connection, data: bytes, method: str):
        conn.writer.write(data)
        await conn.writer.drain()
        try:
            raw = await conn.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _StaleConnection from exc
            raise
        status_line, *header_lines = raw[:-4].decode("latin-1").split("\r\n")
        version, status = status_line.split(" ", 2)[:2]
        headers = []
        for line in header_lines:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        fields = {k.lower(): v for k, v in headers}
        keep = version == "HTTP/1.1" and fields.get("connection", "").lower() != "close"
        if method == "HEAD" or status in ("204", "304"):
            content = b""
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            content = await self._chunked(conn.reader)
        elif "content-length" in fields:
            content = await conn.reader.readexactly(int(fields["content-length"]))
        else:
            content, keep = await conn.reader.read(), False  # until the server closes
        # The body is already de-chunked: do not let httpx do it again.
        headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
        return int(status), headers, content, keep

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
