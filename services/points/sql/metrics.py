"""The points service's state for its gauges (metrics.py): cheap aggregate reads."""

from __future__ import annotations

import asyncpg


async def liability(conn: asyncpg.Connection) -> int:
    """Points members hold (negative balances, left by reversals, owe nothing)."""
    return await conn.fetchval("SELECT coalesce(sum(points), 0) FROM balances WHERE points > 0")


async def parked_refunds(conn: asyncpg.Connection) -> asyncpg.Record:
    """Refunds waiting for their purchase: how many, how many already handed to operations,
    and the oldest one's age in seconds (0 when none)."""
    return await conn.fetchrow("""
        SELECT count(*) AS parked, count(dead_lettered_at) AS dead_lettered,
               coalesce(extract(epoch FROM now() - min(received_at)), 0) AS oldest_seconds
        FROM pending_refunds""")
