"""SQL of offers that fit (handlers/recommendations.py): the month's recommendations
claimed per member, and what the members of a batch are and used."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

_CLAIM = """
INSERT INTO recommendations (member_id, month, offers, recommended_at)
SELECT m, mo, '{}', $3 FROM unnest($1::text[], $2::text[]) AS c (m, mo) ORDER BY 1, 2
ON CONFLICT DO NOTHING RETURNING member_id, month
"""


async def claim(conn: asyncpg.Connection, keys: Sequence[tuple[str, str]],
                at: datetime) -> set[tuple[str, str]]:
    """The (member, month) pairs not recommended for before, now claimed."""
    if not keys:
        return set()
    keys = sorted(set(keys))
    rows = await conn.fetch(_CLAIM, [k[0] for k in keys], [k[1] for k in keys], at)
    return {(r["member_id"], r["month"]) for r in rows}


async def record(conn: asyncpg.Connection, picked: dict[tuple[str, str], list[str]]) -> None:
    """The offers recommended to each claimed (member, month)."""
    if picked:
        keys = sorted(picked)
        await conn.execute(
            "UPDATE recommendations r SET offers = p.offers::text[]"
            " FROM unnest($1::text[], $2::text[], $3::text[]) AS p (member_id, month, offers)"
            " WHERE r.member_id = p.member_id AND r.month = p.month",
            [k[0] for k in keys], [k[1] for k in keys],
            ["{" + ",".join(picked[k]) + "}" for k in keys])


async def members(conn: asyncpg.Connection, ids: Sequence[str]) -> dict[str, asyncpg.Record]:
    """tier and closed of the members rewards has heard of."""
    rows = await conn.fetch("SELECT member_id, tier, closed FROM members"
                            " WHERE member_id = ANY($1::text[])", list(ids))
    return {r["member_id"]: r for r in rows}


async def usage(conn: asyncpg.Connection, ids: Sequence[str], periods: Sequence[str]
                ) -> dict[str, dict[tuple[str, str], int]]:
    """What each member used of any item in the given periods (today's day, month, year)."""
    rows = await conn.fetch("SELECT member_id, item, period, used FROM usage"
                            " WHERE member_id = ANY($1::text[]) AND period = ANY($2::text[])",
                            list(ids), list(periods))
    out: dict[str, dict[tuple[str, str], int]] = {}
    for r in rows:
        out.setdefault(r["member_id"], {})[(r["item"], r["period"])] = r["used"]
    return out
