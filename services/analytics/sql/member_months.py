"""member_months: one row per member and month, written set-wise (one statement per batch):
the counters add, an asset snapshot replaces the month's assets."""

from __future__ import annotations

import asyncpg

from ..domain.activity import COUNTERS, Tally

_TYPES = {"spend": "numeric", "refunded": "numeric"}
_COLUMNS = ", ".join(COUNTERS)
_UNNEST = ", ".join(f"${n}::{_TYPES.get(c, 'bigint')}[]" for n, c in enumerate(COUNTERS, 3))
_ADD = ", ".join(f"{c} = member_months.{c} + excluded.{c}" for c in COUNTERS)
_UPSERT = f"""
INSERT INTO member_months (month, member_id, {_COLUMNS}, assets)
SELECT * FROM unnest($1::text[], $2::text[], {_UNNEST}, ${len(COUNTERS) + 3}::numeric[])
ON CONFLICT (month, member_id) DO UPDATE SET {_ADD},
    assets = coalesce(excluded.assets, member_months.assets)
"""


async def add(conn: asyncpg.Connection, tally: Tally) -> None:
    rows = tally.rows()
    if not rows:
        return
    columns = [[row[2][i] for row in rows] for i in range(len(COUNTERS))]
    await conn.execute(_UPSERT, [r[0] for r in rows], [r[1] for r in rows], *columns,
                       [r[3] for r in rows])
