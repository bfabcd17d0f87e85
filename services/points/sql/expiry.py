"""SQL of the daily expiry job."""

from __future__ import annotations

from datetime import date

import asyncpg


async def try_job_lock(conn: asyncpg.Connection, job: str) -> bool:
    """Only one instance runs a job at a time: a lock held until the transaction ends."""
    return await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", job)


async def members_with_lots_due(conn: asyncpg.Connection, today: date, limit: int) -> list[str]:
    """Members holding points whose expiry date has passed (the lot expires after its day)."""
    rows = await conn.fetch(
        "SELECT DISTINCT member_id FROM lots WHERE expires_on < $1 AND remaining > 0"
        " ORDER BY member_id LIMIT $2", today, limit)
    return [row[0] for row in rows]


_ANNOUNCE = """
INSERT INTO expiry_notices (member_id, expires_on, points)
SELECT member_id, expires_on, remaining FROM lots
WHERE expires_on BETWEEN $1 AND $2 AND remaining > 0
ORDER BY member_id, expires_on
ON CONFLICT (member_id, expires_on) DO NOTHING
RETURNING member_id, expires_on, points
"""


async def announce(conn: asyncpg.Connection, today: date,
                   until: date) -> list[asyncpg.Record]:
    """Lots expiring in [today, until] not yet announced, now recorded as announced."""
    return await conn.fetch(_ANNOUNCE, today, until)
