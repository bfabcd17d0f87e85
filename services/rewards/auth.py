"""Who is calling: partners by signed requests, the bank's app by a bearer token.

A partner request passes, in this order: fresh timestamp and well-formed nonce (no I/O),
a live key and a matching HMAC, a first use of the nonce (DB), then the partner's rate
(an in-process token bucket: the limit holds per instance, so N instances allow N times
the rate). Keys are cached decrypted for KEY_CACHE_SECONDS; a revoked or rotated-out key
stops working within that time. (The lounge fast path, fast_path.py, checks the rate
before its one database call, which records the nonce.)"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

import asyncpg
from fastapi import Request

from . import keys, rewards_sql
from .domain import signing
from .domain.errors import Refused, refuse
from .domain.partners import Partner, TokenBucket

KEY_CACHE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class _CachedKey:
    partner: Partner | None
    secret: bytes | None
    until: float


class PartnerAuth:
    def __init__(self, pool: asyncpg.Pool, encryption_key: bytes, tolerance: int) -> None:
        self._pool = pool
        self._encryption_key = encryption_key
        self._tolerance = tolerance
        self._keys: dict[str, _CachedKey] = {}
        self._buckets: dict[str, TokenBucket] = {}

    async def __call__(self, request: Request) -> Partner:
        h = request.headers
        key_id, timestamp = h.get("x-key-id", ""), h.get("x-timestamp", "")
        nonce, signature = h.get("x-nonce", ""), h.get("x-signature", "")
        partner = await self.verified(key_id, timestamp, nonce, signature, request.method,
                                      request.url.path, request.url.query,
                                      await request.body())
        await self.admit(partner, key_id, nonce)
        return partner

    async def admit(self, partner: Partner, key_id: str, nonce: str) -> None:
        """After the signature: the nonce's first use (recorded), then the partner's rate."""
        if not await rewards_sql.first_use_of_nonce(self._pool, key_id, nonce):
            raise refuse("nonce_reused", "this nonce was already used with this key")
        if not self.take_token(partner):
            raise refuse("rate_limited",
                         f"more than {partner.rate_per_second} requests per second")

    async def verified(self, key_id: str, timestamp: str, nonce: str, signature: str,
                       method: str, path: str, query: str, body: bytes) -> Partner:
        """The partner whose live key signed this request. No I/O but a key cache miss; the
        nonce's first use is recorded after this (`admit`, or the lounge visit's call)."""
        if not (key_id and timestamp and nonce and signature):
            raise refuse("invalid_signature",
                         "X-Key-Id, X-Timestamp, X-Nonce and X-Signature are required")
        signing.check_freshness(timestamp, nonce, time.time(), self._tolerance)
        cached = await self._key(key_id)
        signing.verify(cached.secret, signature, method, path, query, timestamp, nonce, body)
        assert cached.partner is not None  # verify() refuses a missing key
        return cached.partner

    def take_token(self, partner: Partner) -> bool:
        """A request of the partner's rate, if one is left this second."""
        bucket = self._buckets.get(partner.id)
        if bucket is None or bucket.rate != partner.rate_per_second:
            bucket = self._buckets[partner.id] = TokenBucket(partner.rate_per_second)
        return bucket.take(time.monotonic())

    def give_back_token(self, partner: Partner) -> None:
        """For a request handed on to the general path, which takes its own token."""
        if (bucket := self._buckets.get(partner.id)) is not None:
            bucket.give_back()

    async def _key(self, key_id: str) -> _CachedKey:
        now = time.monotonic()
        cached = self._keys.get(key_id)
        if cached is not None and cached.until > now:
            return cached
        row = await rewards_sql.key_and_partner(self._pool, key_id)
        if row is None:
            cached = _CachedKey(None, None, now + 1.0)
        else:
            cached = _CachedKey(
                partner=Partner(id=row["id"], name=row["name"], scopes=frozenset(row["scopes"]),
                                lounges=tuple(row["lounges"]), offers=tuple(row["offers"]),
                                rate_per_second=row["rate_per_second"]),
                secret=keys.decrypt(self._encryption_key, key_id, row["secret_enc"]),
                until=now + KEY_CACHE_SECONDS)
        if len(self._keys) > 10_000:  # junk key ids must not grow the cache without bound
            self._keys.clear()
        self._keys[key_id] = cached
        return cached


class AppAuth:
    """The bank's app backend: `Authorization: Bearer <APP_TOKEN>`."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    async def __call__(self, request: Request) -> None:
        if self._token is None:
            raise Refused("app_disabled", "APP_TOKEN is not configured", 503)
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self._token}".encode()):
            raise Refused("unauthorised", "a valid bearer token is required", 401)
