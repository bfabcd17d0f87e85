"""redemptions: one row per confirmed redemption (its id is the business key)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from contracts.rewards.v1 import RedemptionConfirmed

from ..domain.engagement import airport
from ..domain.months import month_of

_INSERT = """
INSERT INTO redemptions (redemption_id, member_id, month, kind, item_id, airport, persons,
                         points)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::int[], $8::bigint[])
ORDER BY 1
ON CONFLICT (redemption_id) DO NOTHING
"""


async def record(conn: asyncpg.Connection, events: Sequence[RedemptionConfirmed]) -> None:
    unique = {e.redemption_id: e for e in events}
    if not unique:
        return
    rows = [unique[k] for k in sorted(unique)]
    await conn.execute(_INSERT, [e.redemption_id for e in rows], [e.member_id for e in rows],
                       [month_of(e.confirmed_at) for e in rows], [e.kind for e in rows],
                       [e.item_id for e in rows], [airport(e.kind, e.item_id) for e in rows],
                       [e.persons for e in rows], [e.points for e in rows])
