"""members and tier_changes: enrolments, closures (the first counts) and tier changes by
effective day (for one day the last received wins), each written set-wise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

_ENROL = """
INSERT INTO members (member_id, enrolled_month, enrolled_tier)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
ON CONFLICT (member_id) DO UPDATE SET enrolled_month = excluded.enrolled_month,
                                      enrolled_tier = excluded.enrolled_tier
"""
_CLOSE = """
INSERT INTO members (member_id, closed_month)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT (member_id) DO UPDATE
SET closed_month = least(members.closed_month, excluded.closed_month)
"""
_TIERS = """
INSERT INTO tier_changes (member_id, effective_date, tier)
SELECT * FROM unnest($1::text[], $2::date[], $3::text[])
ON CONFLICT (member_id, effective_date) DO UPDATE SET tier = excluded.tier
"""


async def enrol(conn: asyncpg.Connection, rows: Sequence[tuple[str, str, str]]) -> None:
    """(member, month, tier); a member enrols once (a re-sent event says the same)."""
    latest = {member: (month, tier) for member, month, tier in rows}
    if latest:
        keys = sorted(latest)
        await conn.execute(_ENROL, keys, [latest[k][0] for k in keys],
                           [latest[k][1] for k in keys])


async def close(conn: asyncpg.Connection, rows: Sequence[tuple[str, str]]) -> None:
    """(member, month): the earliest month stays."""
    first: dict[str, str] = {}
    for member, month in rows:
        first[member] = min(month, first.get(member, month))
    if first:
        keys = sorted(first)
        await conn.execute(_CLOSE, keys, [first[k] for k in keys])


async def change_tiers(conn: asyncpg.Connection, rows: Sequence[tuple[str, date, str]]) -> None:
    """(member, effective day, tier): in a batch too, the last of a day wins."""
    latest = {(member, day): tier for member, day, tier in rows}
    if latest:
        keys = sorted(latest)
        await conn.execute(_TIERS, [k[0] for k in keys], [k[1] for k in keys],
                           [latest[k] for k in keys])
