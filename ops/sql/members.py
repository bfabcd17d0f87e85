"""What `loyalty-ops members` shows of a member beside the accounts service's profile. A
service whose schema is not there (not deployed here) shows nothing."""

from __future__ import annotations

import asyncpg


async def _there(conn: asyncpg.Connection, table: str) -> bool:
    return await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table)


async def balance(conn: asyncpg.Connection, points_schema: str, member_id: str) -> int | None:
    table = f'"{points_schema}".balances'
    if not await _there(conn, table):
        return None
    return await conn.fetchval(f"SELECT points FROM {table} WHERE member_id = $1", member_id)


async def redemptions(conn: asyncpg.Connection, rewards_schema: str,
                      member_id: str) -> dict[str, int]:
    table = f'"{rewards_schema}".redemptions'
    if not await _there(conn, table):
        return {}
    rows = await conn.fetch(f"SELECT status, count(*) FROM {table} WHERE member_id = $1"
                            " GROUP BY status ORDER BY status", member_id)
    return {row[0]: row[1] for row in rows}
