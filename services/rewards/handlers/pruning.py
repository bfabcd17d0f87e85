"""Every PRUNE_SECONDS: forget what can no longer matter (replayable nonces, dead codes,
old answered Idempotency-Keys)."""

from __future__ import annotations

import asyncpg

from ..sql import idempotency, members, partners

PRUNE_SECONDS = 60


async def prune(pool: asyncpg.Pool, nonce_seconds: int) -> None:
    """Nonces live `nonce_seconds` (twice the timestamp tolerance: older ones are refused
    as stale anyway)."""
    async with pool.acquire() as conn:
        await partners.prune_nonces(conn, nonce_seconds)
        await members.prune_codes(conn)
        await idempotency.prune_answered(conn)
