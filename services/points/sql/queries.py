"""SQL behind the HTTP reads for the bank's app: a member's balance, lots and history."""

from __future__ import annotations

from datetime import date

import asyncpg


async def balance(conn: asyncpg.Connection, member_id: str, today: date) -> asyncpg.Record | None:
    return await conn.fetchrow("""
        SELECT b.points AS balance, c.closed_at,
               coalesce((SELECT sum(remaining) FROM lots l WHERE l.member_id = b.member_id
                         AND l.expires_on >= $2), 0) AS available,
               n.expires_on AS next_on, n.remaining AS next_points
        FROM balances b LEFT JOIN closed_members c USING (member_id)
        LEFT JOIN LATERAL (SELECT expires_on, remaining FROM lots l
                           WHERE l.member_id = b.member_id AND l.expires_on >= $2
                           AND remaining > 0 ORDER BY expires_on LIMIT 1) n ON true
        WHERE b.member_id = $1""", member_id, today)


async def history(conn: asyncpg.Connection, member_id: str, before: int | None,
                  limit: int) -> list[asyncpg.Record]:
    """The member's transfers, newest first, from transfer id `before` (exclusive) down;
    points > 0 credited the member, < 0 debited it."""
    return await conn.fetch("""
        SELECT id, kind, reference, occurred_at, recorded_at,
               CASE WHEN credit_account = 'member:' || member_id THEN points ELSE -points END
               AS points
        FROM transfers
        WHERE member_id = $1 AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3""", member_id, before, limit)
