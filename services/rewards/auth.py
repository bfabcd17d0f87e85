"""Who is calling: partners by signed requests, the bank's app by a bearer token.

A partner request passes, in this order: fresh timestamp and well-formed nonce (no I/O),
a live key and a matching HMAC, a first use of the nonce (DB), then the partner's rate
(an in-process token bucket: the limit holds per instance, so N instances allow N times
the rate). A partner POST records its nonce in its command's one load (api.py takes the
token first and gives it back if the nonce was used). Keys are cached opened for
KEY_CACHE_SECONDS; a revoked or rotated-out key stops working within that time."""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass

import asyncpg
from cryptography.exceptions import InvalidTag
from fastapi import Request

from runtime.personal_data import Sealer

from .domain import signing
from .domain.errors import Refused, refuse
from .domain.partners import Partner, TokenBucket
from .handlers.redemptions import Caller, request_hash
from .sql import partners as sql

log = logging.getLogger(__name__)
KEY_CACHE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class _CachedKey:
    partner: Partner | None
    secret: bytes | None
    until: float


class PartnerAuth:
    def __init__(self, pool: asyncpg.Pool, sealer: Sealer, tolerance: int) -> None:
        self._pool = pool
        self._sealer = sealer
        self._tolerance = tolerance
        self._keys: dict[str, _CachedKey] = {}
        self._buckets: dict[str, TokenBucket] = {}

    async def __call__(self, request: Request) -> Caller:
        """The FastAPI dependency of the routes that record nothing else (GETs)."""
        h = request.headers
        body = await request.body()
        caller = await self.verified(
            h.get("x-key-id", ""), h.get("x-timestamp", ""), h.get("x-nonce", ""),
            h.get("x-signature", ""), request.method, request.url.path, request.url.query,
            body)
        await self.admit(caller)
        return caller

    async def verified(self, key_id: str, timestamp: str, nonce: str, signature: str,
                       method: str, path: str, query: str, body: bytes) -> Caller:
        """The partner whose live key signed this request. No I/O but a key cache miss; the
        nonce's first use is recorded after this (`admit`, or the command's load)."""
        if not (key_id and timestamp and nonce and signature):
            raise refuse("invalid_signature",
                         "X-Key-Id, X-Timestamp, X-Nonce and X-Signature are required")
        signing.check_freshness(timestamp, nonce, time.time(), self._tolerance)
        cached = await self._key(key_id)
        signing.verify(cached.secret, signature, method, path, query, timestamp, nonce, body)
        assert cached.partner is not None  # verify() refuses a missing key
        return Caller(cached.partner, key_id, nonce, request_hash(method, path, body))

    async def admit(self, caller: Caller) -> None:
        """After the signature: the nonce's first use (recorded), then the partner's rate."""
        await self.first_use(caller)
        if not self.take_token(caller.partner):
            raise refuse("rate_limited",
                         f"more than {caller.partner.rate_per_second} requests per second")

    async def first_use(self, caller: Caller) -> None:
        if not await sql.first_use_of_nonce(self._pool, caller.key_id, caller.nonce):
            raise signing.nonce_reused()

    def take_token(self, partner: Partner) -> bool:
        """A request of the partner's rate, if one is left this second."""
        bucket = self._buckets.get(partner.id)
        if bucket is None or bucket.rate != partner.rate_per_second:
            bucket = self._buckets[partner.id] = TokenBucket(partner.rate_per_second)
        return bucket.take(time.monotonic())

    def give_back_token(self, partner: Partner) -> None:
        """For a request refused for its nonce after it took a token."""
        if (bucket := self._buckets.get(partner.id)) is not None:
            bucket.give_back()

    async def _key(self, key_id: str) -> _CachedKey:
        now = time.monotonic()
        cached = self._keys.get(key_id)
        if cached is not None and cached.until > now:
            return cached
        row = await sql.key_and_partner(self._pool, key_id)
        secret = None if row is None else self._opened(key_id, row["secret_enc"])
        if secret is None:
            cached = _CachedKey(None, None, now + 1.0)
        else:
            cached = _CachedKey(
                partner=Partner(id=row["id"], name=row["name"], scopes=frozenset(row["scopes"]),
                                lounges=tuple(row["lounges"]), offers=tuple(row["offers"]),
                                rate_per_second=row["rate_per_second"]),
                secret=secret, until=now + KEY_CACHE_SECONDS)
        if len(self._keys) > 10_000:  # junk key ids must not grow the cache without bound
            self._keys.clear()
        self._keys[key_id] = cached
        return cached

    def _opened(self, key_id: str, sealed: bytes) -> bytes | None:
        """The HMAC key: the secret's bytes as the partner holds them."""
        try:
            return self._sealer.open_bytes(key_id, sealed)
        except (ValueError, InvalidTag):
            log.error("the secret of key %s does not open: sealed under another"
                      " PARTNER_KEY_ENCRYPTION_KEY, or before migration 0003"
                      " (python -m services.rewards.partners reseal)", key_id)
            return None


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
