"""The reference partner client of docs/partner-signing.md: how to sign a request to the
rewards partner API. It needs only the standard library and httpx, so a partner can copy
it as it is; the tests and the benchmark use it too, and a test holds it to the server's
own verification and to the document's worked example.

    PARTNER_SECRET=sk_... python -m tools.partner_client --url https://rewards.example \\
        --key-id pk_0123456789abcdef GET /v1/redemptions [--json '{"code": ...}']
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json as jsonlib
import os
import secrets
import sys
import time
import uuid
from urllib.parse import urlencode

import httpx


def canonical_request(method: str, path: str, query: str, timestamp: str, nonce: str,
                      body: bytes) -> bytes:
    """METHOD, path (with ?query when there is one), timestamp, nonce and the body's
    SHA-256 in lowercase hex, joined by single line feeds, as UTF-8."""
    target = f"{path}?{query}" if query else path
    return "\n".join((method.upper(), target, timestamp, nonce,
                      hashlib.sha256(body).hexdigest())).encode()


def signature(key: bytes, method: str, path: str, query: str, timestamp: str, nonce: str,
              body: bytes) -> str:
    """HMAC-SHA256 of the canonical request, lowercase hex. The key is the secret's UTF-8
    bytes, all of it (`sk_` too), not decoded in any way."""
    message = canonical_request(method, path, query, timestamp, nonce, body)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def new_nonce() -> str:
    """24 random characters of [A-Za-z0-9_-] (the server takes 16 to 64)."""
    return secrets.token_urlsafe(18)


class PartnerClient:
    def __init__(self, http: httpx.AsyncClient, key_id: str, secret: str) -> None:
        self.http = http
        self.key_id = key_id
        self.secret = secret.encode()  # the HMAC key

    def signed_headers(self, method: str, path: str, query: str, body: bytes, *,
                       timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or new_nonce()
        return {"X-Key-Id": self.key_id, "X-Timestamp": ts, "X-Nonce": nonce,
                "X-Signature": signature(self.secret, method, path, query, ts, nonce, body)}

    async def request(self, method: str, path: str, *, json: dict | None = None,
                      params: dict | None = None, idempotency_key: str | None = "auto",
                      timestamp: int | None = None, nonce: str | None = None,
                      headers: dict[str, str] | None = None) -> httpx.Response:
        """Sends exactly the bytes it signed: the body as serialised here, the query as
        encoded here."""
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


async def _main(args: argparse.Namespace) -> int:
    secret = os.environ.get("PARTNER_SECRET")
    if not secret:
        print("PARTNER_SECRET is not set", file=sys.stderr)
        return 2
    path, _, query = args.path.partition("?")
    async with httpx.AsyncClient(base_url=args.url, timeout=30) as http:
        client = PartnerClient(http, args.key_id, secret)
        response = await client.request(
            args.method.upper(), path, json=jsonlib.loads(args.json) if args.json else None,
            params=dict(p.split("=", 1) for p in query.split("&")) if query else None)
    print(response.status_code, response.text)
    return 0 if response.is_success else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the API's base URL")
    parser.add_argument("--key-id", required=True)
    parser.add_argument("--json", help="the JSON body of a POST")
    parser.add_argument("method")
    parser.add_argument("path", help="e.g. /v1/redemptions?status=confirmed")
    sys.exit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
