"""calls and call_months: the calls published, once per member and month, and the months
whose calls were worked out."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from ..domain.figures import CallNeeded

_RECORD = """
INSERT INTO calls (member_id, month, tier, reason)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ORDER BY 1
ON CONFLICT (member_id, month) DO NOTHING
RETURNING member_id
"""


async def done(conn: asyncpg.Connection, month: str) -> bool:
    return await conn.fetchval("SELECT EXISTS (SELECT FROM call_months WHERE month = $1)",
                               month)


async def record(conn: asyncpg.Connection, month: str,
                 calls: Sequence[CallNeeded]) -> set[str]:
    """Marks `month` done and keeps its calls; returns the members not called before."""
    await conn.execute("INSERT INTO call_months (month) VALUES ($1) ON CONFLICT DO NOTHING",
                       month)
    if not calls:
        return set()
    rows = await conn.fetch(_RECORD, [c.member_id for c in calls], [c.month for c in calls],
                            [c.tier for c in calls], [c.reason for c in calls])
    return {row["member_id"] for row in rows}
