"""The rewards service's state for its metrics (metrics.py): cheap reads."""

from __future__ import annotations

import asyncpg


async def pending_sagas(conn: asyncpg.Connection) -> asyncpg.Record:
    """Redemptions waiting for points' answer: how many, and the oldest one's age in
    seconds (0 when none)."""
    return await conn.fetchrow("""
        SELECT count(*) AS pending,
               coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest_seconds
        FROM redemptions WHERE status = 'pending'""")


async def partner_keys(conn: asyncpg.Connection) -> dict[str, str]:
    """Partner of every key id, revoked ones included (a revoked key still names its
    partner in the refusals it gets)."""
    rows = await conn.fetch("SELECT key_id, partner_id FROM partner_keys")
    return {row["key_id"]: row["partner_id"] for row in rows}
