"""Staff changes waiting for a second approver, and how each was decided (maker-checker)."""

from __future__ import annotations

import json

import asyncpg


async def propose(conn: asyncpg.Connection, kind: str, member_id: str, request: dict,
                  proposed_by: str) -> asyncpg.Record:
    return await conn.fetchrow(
        "INSERT INTO staff_changes (kind, member_id, request, proposed_by)"
        " VALUES ($1, $2, $3::jsonb, $4) RETURNING *",
        kind, member_id, json.dumps(request), proposed_by)


async def locked(conn: asyncpg.Connection, change_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM staff_changes WHERE id = $1 FOR UPDATE",
                               change_id)


async def decide(conn: asyncpg.Connection, change_id: int, status: str,
                 decided_by: str) -> asyncpg.Record:
    """An approval links the override it made: the member's newest, set in this transaction
    (the member's row is locked)."""
    return await conn.fetchrow(
        "UPDATE staff_changes c SET status = $2, decided_by = $3, decided_at = now(),"
        " override_id = CASE WHEN $2 = 'approved' THEN (SELECT max(o.id) FROM tier_overrides o"
        " WHERE o.member_id = c.member_id) END WHERE id = $1 RETURNING *",
        change_id, status, decided_by)


async def pending(pool: asyncpg.Pool, limit: int) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT * FROM staff_changes WHERE status = 'pending' ORDER BY id LIMIT $1", limit)
