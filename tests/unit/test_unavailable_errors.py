"""A dependency down (the database restarting) answers 503 with Retry-After, in the
`{code, message}` shape, without a traceback in the log; anything else unexpected is still a
logged 500."""

from __future__ import annotations

import logging

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from runtime import errors


def app() -> FastAPI:
    a = FastAPI()
    errors.install(a, max_body_bytes=1024, max_header_bytes=8192)

    @a.get("/down")
    async def down() -> None:
        raise asyncpg.CannotConnectNowError("the database system is starting up")

    @a.get("/refused")
    async def refused() -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    @a.get("/bug")
    async def bug() -> None:
        raise KeyError("oops")

    return a


async def get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


@pytest.mark.parametrize("path", ["/down", "/refused"])
async def test_a_dependency_down_is_503_with_retry_after(path, caplog):
    with caplog.at_level(logging.WARNING, logger="runtime.errors"):
        r = await get(path)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.json() == {"code": "unavailable", "message": "temporarily unavailable, try again"}
    assert all(rec.exc_info is None for rec in caplog.records)


async def test_anything_else_is_a_logged_500(caplog):
    with caplog.at_level(logging.ERROR, logger="runtime.errors"):
        r = await get("/bug")
    assert r.status_code == 500
    assert r.json() == {"code": "internal", "message": "internal error"}
    assert any(rec.exc_info for rec in caplog.records)
