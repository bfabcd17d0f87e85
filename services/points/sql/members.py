"""SQL of what points keeps about members: tiers by effective date, and who has closed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

import asyncpg

from contracts.tiers import Tier

_RECORD_TIERS = """
INSERT INTO member_tiers (member_id, effective_date, tier)
SELECT * FROM unnest($1::text[], $2::date[], $3::text[]) ORDER BY 1, 2
ON CONFLICT (member_id, effective_date) DO UPDATE SET tier = excluded.tier, recorded_at = now()
"""


async def record_tiers(conn: asyncpg.Connection,
                       rows: Sequence[tuple[str, date, Tier]]) -> None:
    """(member_id, effective_date, tier); for one day the last change received wins."""
    latest = {(m, d): t for m, d, t in rows}  # in order: a later change of a day replaces
    keys = sorted(latest)
    if keys:
        await conn.execute(_RECORD_TIERS, [k[0] for k in keys], [k[1] for k in keys],
                           [latest[k] for k in keys])


async def record_closed(conn: asyncpg.Connection, rows: Sequence[tuple[str, datetime]]) -> None:
    if rows:
        await conn.execute(
            "INSERT INTO closed_members (member_id, closed_at)"
            " SELECT * FROM unnest($1::text[], $2::timestamptz[]) ORDER BY 1"
            " ON CONFLICT (member_id) DO NOTHING",
            [r[0] for r in sorted(rows)], [r[1] for r in sorted(rows)])


# A key lookup per member whatever the table's size: LATERAL (OFFSET 0 keeps it from being
# flattened into a join, whose plan turns to a hash join over a full scan as the table grows).
_TIER_HISTORY = """
SELECT m.member_id, t.effective_date, t.tier
FROM unnest($1::text[]) AS m (member_id)
CROSS JOIN LATERAL (SELECT effective_date, tier FROM member_tiers
                    WHERE member_id = m.member_id OFFSET 0) t
ORDER BY m.member_id, t.effective_date
"""


async def tier_history(conn: asyncpg.Connection,
                       member_ids: Sequence[str]) -> dict[str, list[tuple[date, Tier]]]:
    """Each member's tiers by effective date, oldest first."""
    rows = await conn.fetch(_TIER_HISTORY, list(member_ids))
    history: dict[str, list[tuple[date, Tier]]] = defaultdict(list)
    for row in rows:
        history[row["member_id"]].append((row["effective_date"], row["tier"]))
    return history
