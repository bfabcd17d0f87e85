"""The providers' keep-alive HTTP transport against a real socket server: Content-Length
and chunked bodies, connections reused, a connection the server closed replaced, a server
that does not answer is a timeout (transient for the sender)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from services.notifications.providers.transport import KeepAliveTransport

pytestmark = pytest.mark.integration


class Server:
    """Answers each request per `mode`; counts connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.mode = "length"
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length")), 0)
                body = await reader.readexactly(length)
                if self.mode == "silent":
                    await asyncio.sleep(5)
                    return
                if self.mode == "chunked":
                    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 b"5\r\nhello\r\n1;x=y\r\n \r\n" + f"{len(body):x}".encode()
                                 + b"\r\n" + body + b"\r\n0\r\n\r\n")
                else:
                    payload = b'{"errcode":0,"echo":' + (body or b"null") + b"}"
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n"
                                 + payload)
                await writer.drain()
                if self.mode == "close-after":
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.fixture
async def server():
    s = Server()
    s.server = await asyncio.start_server(s.handle, "127.0.0.1", 0)
    port = s.server.sockets[0].getsockname()[1]
    yield s, f"http://127.0.0.1:{port}"
    s.server.close()


async def test_bodies_keep_alive_and_a_closed_connection_replaced(server) -> None:
    s, base = server
    client = httpx.AsyncClient(transport=KeepAliveTransport(max_connections=4, timeout=1))
    for i in range(5):
        answer = await client.post(f"{base}/cgi-bin/x?a=1", json={"n": i})
        assert answer.json() == {"errcode": 0, "echo": {"n": i}}
    assert s.connections == 1  # one connection, reused

    s.mode = "chunked"
    answer = await client.post(f"{base}/", content=b"abc")
    assert answer.content == b"hello abc"

    s.mode = "close-after"
    await client.post(f"{base}/", content=b"1")  # the server closes after answering
    s.mode = "length"
    assert (await client.get(f"{base}/")).json() == {"errcode": 0, "echo": None}
    assert s.connections == 2  # the closed one was noticed and replaced
    await client.aclose()


async def test_the_direct_path_the_providers_use(server) -> None:
    s, base = server
    transport = KeepAliveTransport(max_connections=2, timeout=1)
    answer = await transport.request("POST", f"{base}/cgi-bin/send?access_token=t",
                                     headers={"Content-Type": "application/json"},
                                     content=b'{"touser":"x"}')
    assert (answer.status, answer.json()) == (200, {"errcode": 0, "echo": {"touser": "x"}})
    s.mode = "chunked"
    assert (await transport.request("POST", f"{base}/", content=b"z")).content == b"hello z"
    assert s.connections == 1
    await transport.aclose()


async def test_a_silent_server_is_a_timeout_and_a_closed_port_a_connect_error(server) -> None:
    s, base = server
    s.mode = "silent"
    client = httpx.AsyncClient(transport=KeepAliveTransport(max_connections=2, timeout=0.3))
    with pytest.raises(httpx.ReadTimeout):
        await client.post(f"{base}/", content=b"x")
    s.server.close()
    await s.server.wait_closed()
    with pytest.raises(httpx.TransportError):
        await client.post(f"{base}/", content=b"x")
    await client.aclose()
