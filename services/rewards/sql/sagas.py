"""SQL of the operations on pending points-paid redemptions (services/rewards/sagas.py)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from ..domain.redemptions import Redemption
from .redemptions import _COLUMNS

_PENDING = f"""
SELECT {_COLUMNS} FROM redemptions
 WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1)
   AND ($2::text[] IS NULL OR id = ANY ($2))
 ORDER BY created_at, id
 LIMIT $3
"""


async def pending(conn: asyncpg.Connection, *, older_than_seconds: float = 0,
                  ids: Sequence[str] | None = None, limit: int = 1000) -> list[Redemption]:
    rows = await conn.fetch(_PENDING, older_than_seconds, None if ids is None else list(ids),
                            limit)
    return [Redemption(**row) for row in rows]
