"""Points earned per member and summary day (`points_summaries`), until the day's summary
is queued; with the trace context of the first purchase counted, which the summary joins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

_ADD_POINTS = """
INSERT INTO points_summaries AS s (member_id, day, points, purchases, traceparent)
SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[], $4::int[], $5::text[]) ORDER BY 1, 2
ON CONFLICT (member_id, day) DO UPDATE
SET points = s.points + excluded.points, purchases = s.purchases + excluded.purchases,
    traceparent = coalesce(s.traceparent, excluded.traceparent)
WHERE NOT s.queued
RETURNING member_id, day
"""


async def add_points(conn: asyncpg.Connection,
                     totals: dict[tuple[str, date], tuple]) -> list[tuple[str, date]]:
    """Add (points, purchases, traceparent) to the open summaries; returns the keys whose
    summary was already queued (their points belong to a later day's summary)."""
    keys = sorted(totals)
    if not keys:
        return []
    rows = await conn.fetch(_ADD_POINTS, [k[0] for k in keys], [k[1] for k in keys],
                            [totals[k][0] for k in keys], [totals[k][1] for k in keys],
                            [totals[k][2] for k in keys])
    added = {(row["member_id"], row["day"]) for row in rows}
    return [k for k in keys if k not in added]


async def due_summaries(conn: asyncpg.Connection, last_day: date) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT member_id, day, points, purchases, traceparent FROM points_summaries"
        " WHERE NOT queued AND day <= $1 ORDER BY member_id, day FOR UPDATE", last_day)


async def mark_summaries_queued(conn: asyncpg.Connection,
                                keys: Sequence[tuple[str, date]]) -> None:
    await conn.execute(
        "UPDATE points_summaries s SET queued = true FROM unnest($1::text[], $2::date[])"
        " AS k (member_id, day) WHERE s.member_id = k.member_id AND s.day = k.day",
        [k[0] for k in keys], [k[1] for k in keys])
