"""A reference partner client: how to sign a request (used by the tests and the benchmark,
and a model for partners' own integrations)."""

from __future__ import annotations

import json as jsonlib
import secrets
import time
import uuid
from urllib.parse import urlencode

import httpx

from services.rewards.domain.signing import sign


class PartnerClient:
    def __init__(self, http: httpx.AsyncClient, key_id: str, secret: str) -> None:
        self.http = http
        self.key_id = key_id
        self.secret = secret.encode()

    def signed_headers(self, method: str, path: str, query: str, body: bytes, *,
                       timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_urlsafe(18)
        return {"X-Key-Id": self.key_id, "X-Timestamp": ts, "X-Nonce": nonce,
                "X-Signature": sign(self.secret, method, path, query, ts, nonce, body)}

    async def request(self, method: str, path: str, *, json: dict | None = None,
                      params: dict | None = None, idempotency_key: str | None = "auto",
                      timestamp: int | None = None, nonce: str | None = None,
                      headers: dict[str, str] | None = None) -> httpx.Response:
        body = jsonlib.dumps(json).encode() if json is not None else b""
        query = urlencode(params or {})
        sent = self.signed_headers(method, path, query, body, timestamp=timestamp, nonce=nonce)
        if json is not None:
            sent["Content-Type"] = "application/json"
        if method == "POST" and idempotency_key:
            sent["Idempotency-Key"] = (uuid.uuid4().hex if idempotency_key == "auto"
                                       else idempotency_key)
        sent.update(headers or {})
        url = f"{path}?{query}" if query else path
        return await self.http.request(method, url, content=body, headers=sent)

    async def redeem_lounge(self, code: str, lounge_id: str, *, guests: int = 0,
                            allow_points: bool = False, **kw) -> httpx.Response:
        return await self.request("POST", "/v1/redemptions/lounge-visits", json={
            "code": code, "lounge_id": lounge_id, "guests": guests,
            "allow_points": allow_points}, **kw)

    async def redeem_offer(self, code: str, offer_id: str, **kw) -> httpx.Response:
        return await self.request("POST", "/v1/redemptions/offers",
                                  json={"code": code, "offer_id": offer_id}, **kw)

    async def get(self, redemption_id: str) -> httpx.Response:
        return await self.request("GET", f"/v1/redemptions/{redemption_id}")

    async def cancel(self, redemption_id: str, **kw) -> httpx.Response:
        return await self.request("POST", f"/v1/redemptions/{redemption_id}/cancel", **kw)
