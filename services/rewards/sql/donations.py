"""Donations: a member's Idempotency-Key (in `idempotency`, under `member:<id>`), the
member's closure, the donation recorded with its key, and a member's donations of a year.
The saga's settlement stores a donation's answer for its key like any redemption's
(sql/idempotency.py: by redemption id)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from runtime.unit_of_work import UnitOfWork

from ..domain.redemptions import Redemption
from .redemptions import _COLUMNS


async def claim(conn: asyncpg.Connection, owner: str, key: str, request_hash: bytes) -> bool:
    """The key for this request now (True); or an earlier request's (False: after waiting
    for its transaction, if it is still open)."""
    return bool(await conn.fetchval(
        "INSERT INTO idempotency (partner_id, key, request_hash) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING RETURNING true", owner, key, request_hash))


async def closed(conn: asyncpg.Connection, member_id: str) -> bool:
    return bool(await conn.fetchval("SELECT closed FROM members WHERE member_id = $1",
                                    member_id))


_RECORD = """
WITH donation AS (
    INSERT INTO redemptions (id, partner_id, member_id, kind, item_id, title, title_en,
                             persons, points, usage_item, usage_period, usage_taken, status,
                             created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
)
UPDATE idempotency SET redemption_id = $1 WHERE partner_id = $15 AND key = $16
"""


async def record(uow: UnitOfWork, d: Redemption, owner: str, key: str) -> None:
    """A pending donation, held by its key, and the events emitted so far."""
    await uow.execute(_RECORD, d.id, d.partner_id, d.member_id, d.kind, d.item_id, d.title,
                      d.title_en, d.persons, d.points, d.usage_item, d.usage_period,
                      d.usage_taken, d.status, d.created_at, owner, key)


async def donation(conn: asyncpg.Connection | asyncpg.Pool, member_id: str,
                   donation_id: str) -> Redemption | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM redemptions WHERE id = $1"
                              " AND member_id = $2 AND kind = 'donation'",
                              donation_id, member_id)
    return None if row is None else Redemption(**row)


async def of_period(conn: asyncpg.Connection | asyncpg.Pool, member_id: str,
                    start: datetime, end: datetime) -> list[Redemption]:
    """The member's donations made in [start, end), oldest first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM redemptions WHERE member_id = $1 AND kind = 'donation'"
        " AND created_at >= $2 AND created_at < $3 ORDER BY created_at, id",
        member_id, start, end)
    return [Redemption(**row) for row in rows]
