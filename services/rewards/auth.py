"""Who is calling: partners by signed requests (the bank's app: runtime/auth.py).

A partner request passes, in this order: fresh timestamp and well-formed nonce (no I/O),
a known key and a matching HMAC, then a token of the partner's rate (`within_rate`). Only
then is the nonce's first use recorded (`first_use`, or by the command: api.py), so
a request refused for the rate (429) leaves its nonce unused, and a replayed nonce gives
its token back.

The rate is a token bucket in the database, shared by every instance (sql/partners.py
`admit`). An instance takes a lease of tokens from it at a time, about a twentieth of the
partner's rate (LEASE_SHARE), for at most LEASE_SECONDS; tokens left when it ends are
lost. So a partner gets at most its rate whatever the number of instances, one statement
serves many requests, and a partner sending at its rate across N instances may see up to
N leases (N twentieths) of it lost a second. The same statement reads whether the key is
live: a revoked key is refused within LEASE_SECONDS on every instance. A key's secret and
its partner are cached opened for KEY_CACHE_SECONDS."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Annotated

import asyncpg
from cryptography.exceptions import InvalidTag
from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from runtime.personal_data import Sealer

from .domain import signing
from .domain.errors import Refused, refuse
from .domain.partners import Partner
from .handlers.redemptions import Caller, request_hash
from .sql import partners as sql

log = logging.getLogger(__name__)
KEY_CACHE_SECONDS = 10.0
#: How long a lease of tokens serves, and the share of the partner's rate it asks for.
LEASE_SECONDS = 1.0
LEASE_SHARE = 20
SPECIFICATION = "docs/partner-signing.md"

#: The OpenAPI security scheme of every partner route (FastAPI declares it for each route
#: that depends on PartnerAuth); the other signed headers are `SIGNED_HEADERS`.
SIGNATURE = APIKeyHeader(
    name="X-Signature", scheme_name="partnerSignature", auto_error=False,
    description="Lowercase hex of HMAC-SHA256 over the canonical request, keyed with the"
                " secret's UTF-8 bytes; with X-Key-Id, X-Timestamp and X-Nonce. Byte by byte"
                f" in {SPECIFICATION}.")
#: `openapi_extra` of every partner route: the headers signed along with X-Signature.
SIGNED_HEADERS = {"parameters": [
    {"name": "X-Key-Id", "in": "header", "required": True,
     "description": "The id of the partner's key (pk_...)",
     "schema": {"type": "string", "maxLength": 64}},
    {"name": "X-Timestamp", "in": "header", "required": True,
     "description": "Unix time in seconds, ASCII digits; within the server's tolerance"
                    " (300 s by default) either way",
     "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"}},
    {"name": "X-Nonce", "in": "header", "required": True,
     "description": "Never used before with this key (a 429 leaves it unused)",
     "schema": {"type": "string", "pattern": signing.NONCE.pattern}},
]}


@dataclass(slots=True)
class _Lease:
    """Tokens of a key's partner this instance took from the shared bucket."""

    tokens: int = 0
    until: float = 0.0
    #: The bucket was empty: not asked again before it can have a token (a flood above
    #: the rate costs no statement per request).
    empty_until: float = 0.0
    refill: asyncio.Lock = field(default_factory=asyncio.Lock)

    def take(self) -> bool:
        if self.tokens > 0 and self.until > time.monotonic():
            self.tokens -= 1
            return True
        return False


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
        self._leases: dict[str, _Lease] = {}

    async def __call__(self, request: Request,
                       _declared: Annotated[str | None, Security(SIGNATURE)] = None) -> Caller:
        """The FastAPI dependency of the routes that record nothing else (GETs); every
        partner route declares it (`SIGNATURE` in the OpenAPI document)."""
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
        nonce's first use is recorded after this (`admit`, or by the command)."""
        if not (key_id and timestamp and nonce and signature):
            raise refuse("invalid_signature",
                         "X-Key-Id, X-Timestamp, X-Nonce and X-Signature are required")
        signing.check_freshness(timestamp, nonce, time.time(), self._tolerance)
        cached = await self._key(key_id)
        signing.verify(cached.secret, signature, method, path, query, timestamp, nonce, body)
        assert cached.partner is not None  # verify() refuses a missing key
        return Caller(cached.partner, key_id, nonce, request_hash(method, path, body))

    async def admit(self, caller: Caller) -> None:
        """After the signature: the key live and a token of the rate, then the nonce's first
        use (recorded)."""
        await self.within_rate(caller)
        try:
            await self.first_use(caller)
        except Refused:
            self.give_back(caller)
            raise

    async def within_rate(self, caller: Caller) -> None:
        """A token of the partner's rate: from this instance's lease, else from a new lease
        (which also finds the key still live)."""
        lease = self._leases.get(caller.key_id)
        if lease is None:
            lease = self._leases[caller.key_id] = _Lease()
        partner = caller.partner
        if lease.take():
            return
        async with lease.refill:  # one statement for the requests waiting here
            if lease.take():
                return
            if lease.empty_until > time.monotonic():
                raise _rate_limited(partner)
            live, granted = await sql.admit(self._pool, caller.key_id, partner.id,
                                            partner.rate_per_second,
                                            max(1, partner.rate_per_second // LEASE_SHARE))
            if not live:  # revoked: forget the key, answer as for an unknown one
                self._keys.pop(caller.key_id, None)
                self._leases.pop(caller.key_id, None)
                raise refuse("invalid_signature", "signature does not match")
            if not granted:
                lease.empty_until = time.monotonic() + 1 / partner.rate_per_second
                raise _rate_limited(partner)
            lease.tokens, lease.until = granted - 1, time.monotonic() + LEASE_SECONDS

    async def first_use(self, caller: Caller) -> None:
        if not await sql.first_use_of_nonce(self._pool, caller.key_id, caller.nonce):
            raise signing.nonce_reused()

    def give_back(self, caller: Caller) -> None:
        """The token of a request refused for its nonce after it took one (to the lease:
        lost with it if it ended meanwhile)."""
        if (lease := self._leases.get(caller.key_id)) is not None:
            lease.tokens += 1

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
                      " (loyalty-ops reseal partner-secrets)", key_id)
            return None


def _rate_limited(partner: Partner) -> Refused:
    return refuse("rate_limited", f"more than {partner.rate_per_second} requests per second")
