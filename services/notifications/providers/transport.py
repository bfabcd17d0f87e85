"""A lean HTTP/1.1 keep-alive transport for httpx, on asyncio streams.

Why: the providers are called a few thousand times a second, one small request each.
httpx's default transport (httpcore) spends over a millisecond of CPU per request here
(connection-pool scans, and a failed `import sniffio` on every request when it is not
installed); this transport keeps a plain pool of idle connections per origin and parses
responses itself (Content-Length or chunked), a fraction of that. Only what the provider
APIs use: no proxies, no HTTP/2, no upgrades. Errors are httpx's own, so callers see the
same exceptions as with the default transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import defaultdict

import httpx

_Origin = tuple[str, str, int]


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class KeepAliveTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_connections: int = 64, timeout: float = 5.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[_Origin, list[_Connection]] = defaultdict(list)
        self._timeout = timeout
        self._ssl = ssl_context

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        body = request.content  # the providers' bodies are small and already in memory
        head = self._head(request, origin, len(body))
        async with self._slots:
            for reused in (True, False):
                conn = self._idle[origin].pop() if reused and self._idle[origin] else None
                if conn is None:
                    reused = False
                    conn = await self._connect(origin, request)
                try:
                    status, headers, content, keep = await asyncio.wait_for(
                        self._exchange(conn, head + body, request.method), self._timeout)
                except _StaleConnection:
                    conn.close()
                    if reused:
                        continue  # the server had closed the idle connection: a fresh one
                    raise httpx.RemoteProtocolError("connection closed",
                                                    request=request) from None
                except TimeoutError as exc:
                    conn.close()
                    raise httpx.ReadTimeout("provider did not answer in time",
                                            request=request) from exc
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    conn.close()
                    raise httpx.ReadError(f"{type(exc).__name__}: {exc}",
                                          request=request) from exc
                if keep:
                    self._idle[origin].append(conn)
                else:
                    conn.close()
                return httpx.Response(status, headers=headers, content=content,
                                      request=request)
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    # ------------------------------------------------------------------ internals

    def _head(self, request: httpx.Request, origin: _Origin, length: int) -> bytes:
        target = request.url.raw_path.decode("ascii")
        lines = [f"{request.method} {target} HTTP/1.1"]
        skip = {"content-length", "transfer-encoding", "connection"}
        lines += [f"{k.decode('latin-1')}: {v.decode('latin-1')}"
                  for k, v in request.headers.raw if k.lower().decode() not in skip]
        if request.method not in ("GET", "HEAD") or length:
            lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _connect(self, origin: _Origin, request: httpx.Request) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            context = self._ssl or ssl.create_default_context()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=context), self._timeout)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("connect timed out", request=request) from exc
        except OSError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}", request=request) from exc
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
        headers = [tuple(line.split(":", 1)) for line in header_lines]
        headers = [(k.strip(), v.strip()) for k, v in headers]
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
        # The body is already decoded: do not let httpx decode it again.
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


class _StaleConnection(Exception):
    """The server closed an idle keep-alive connection before answering."""
