"""What rewards knows of members: their tier and closure (projected from the accounts
service), their redemption codes and their usage counters per item and period."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import asyncpg

from contracts.tiers import ENROLMENT_TIER

from ..domain.redemptions import Counter, Redemption

# ---------------------------------------------------------------------- codes


async def insert_code(conn: asyncpg.Connection | asyncpg.Pool, code_hash: bytes,
                      member_id: str, expires_at: datetime) -> None:
    await conn.execute("INSERT INTO codes (code_hash, member_id, expires_at)"
                       " VALUES ($1, $2, $3)", code_hash, member_id, expires_at)


async def prune_codes(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM codes WHERE expires_at < now() - interval '1 day'")


# ---------------------------------------------------------------------- members

async def member(conn: asyncpg.Connection | asyncpg.Pool, member_id: str
                 ) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT tier, closed FROM members WHERE member_id = $1",
                               member_id)


async def member_and_usage(conn: asyncpg.Connection | asyncpg.Pool, member_id: str,
                           counter: Counter) -> asyncpg.Record:
    """tier and closed (null, false: not told about yet) and what the member used."""
    return await conn.fetchrow(
        "SELECT m.tier, coalesce(m.closed, false) AS closed, coalesce(u.used, 0) AS used"
        " FROM (SELECT) AS one"
        " LEFT JOIN members m ON m.member_id = $1"
        " LEFT JOIN usage u ON u.member_id = $1 AND u.item = $2 AND u.period = $3",
        member_id, *counter)


_TIERS = """
INSERT INTO members (member_id, tier, changed_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) ORDER BY 1
ON CONFLICT (member_id) DO UPDATE SET tier = excluded.tier, changed_at = excluded.changed_at
WHERE members.changed_at <= excluded.changed_at
"""

_CLOSED = """
INSERT INTO members (member_id, tier, closed, changed_at)
SELECT m, $3, true, t FROM unnest($1::text[], $2::timestamptz[]) AS c (m, t) ORDER BY 1
ON CONFLICT (member_id) DO UPDATE SET closed = true
"""


async def project_tiers(conn: asyncpg.Connection,
                        tiers: dict[str, tuple[str, datetime]]) -> None:
    if tiers:
        keys = sorted(tiers)
        await conn.execute(_TIERS, keys, [tiers[k][0] for k in keys],
                           [tiers[k][1] for k in keys])


async def project_closed(conn: asyncpg.Connection, closed: dict[str, datetime]) -> None:
    """A member closed before rewards heard of them is kept at the tier of enrolment."""
    if closed:
        keys = sorted(closed)
        await conn.execute(_CLOSED, keys, [closed[k] for k in keys], ENROLMENT_TIER)


# ---------------------------------------------------------------------- usage

_GIVE_BACK = """
UPDATE usage u SET used = greatest(0, u.used - g.n)
FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS g (member_id, item, period, n)
WHERE u.member_id = g.member_id AND u.item = g.item AND u.period = g.period
"""


async def give_back(conn: asyncpg.Connection, redemptions: Iterable[Redemption]) -> None:
    """Return what rejected redemptions took from the members' usage."""
    totals: dict[tuple[str, str, str], int] = {}
    for r in redemptions:
        if r.usage_taken:
            key = (r.member_id, r.usage_item, r.usage_period)
            totals[key] = totals.get(key, 0) + r.usage_taken
    if totals:
        keys = sorted(totals)
        await conn.execute(_GIVE_BACK, [k[0] for k in keys], [k[1] for k in keys],
                           [k[2] for k in keys], [totals[k] for k in keys])
