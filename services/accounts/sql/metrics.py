"""The accounts service's state for its gauges (metrics.py): cheap aggregate reads."""

from __future__ import annotations

import asyncpg

from contracts.tiers import ENROLMENT_TIER


async def members_by_tier(conn: asyncpg.Connection) -> dict[str, int]:
    """Active members per tier (a member without tier status has the enrolment tier)."""
    rows = await conn.fetch("""
        SELECT coalesce(t.tier, $1) AS tier, count(*) AS members
        FROM members m LEFT JOIN member_tiers t USING (member_id)
        WHERE m.status = 'active' GROUP BY 1""", ENROLMENT_TIER)
    return {row["tier"]: row["members"] for row in rows}
