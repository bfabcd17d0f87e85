"""SQL of the operations on parked refunds (services/points/parked.py): what is parked,
which of it has its purchase now, and taking refunds off the waiting list."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from .refunds import _PARKED

_LIST = """
SELECT p.refund_id, p.transaction_id, p.member_id, p.received_at, p.dead_lettered_at,
       EXISTS (SELECT FROM ratings g WHERE g.transaction_id = p.transaction_id) AS purchase_in
  FROM pending_refunds p
 WHERE p.received_at < now() - make_interval(secs => $1)
   AND ($2::text[] IS NULL OR p.refund_id = ANY ($2))
 ORDER BY p.received_at, p.refund_id
 LIMIT $3
"""


async def parked(conn: asyncpg.Connection, *, older_than_seconds: float = 0,
                 refund_ids: Sequence[str] | None = None,
                 limit: int = 1000) -> list[asyncpg.Record]:
    return await conn.fetch(_LIST, older_than_seconds,
                            None if refund_ids is None else list(refund_ids), limit)


async def purchases_in(conn: asyncpg.Connection, refund_ids: Sequence[str]) -> list[str]:
    """The purchases (transaction ids) of these parked refunds that have arrived."""
    rows = await conn.fetch(
        "SELECT DISTINCT p.transaction_id FROM pending_refunds p"
        " JOIN ratings g USING (transaction_id) WHERE p.refund_id = ANY ($1)",
        list(refund_ids))
    return [row[0] for row in rows]


async def take(conn: asyncpg.Connection, refund_ids: Sequence[str]) -> list[asyncpg.Record]:
    """These parked refunds, removed from the waiting list."""
    return await conn.fetch(
        f"DELETE FROM pending_refunds WHERE refund_id = ANY ($1) RETURNING {_PARKED}",
        list(refund_ids))
