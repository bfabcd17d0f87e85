"""Months whose snapshots were published."""

from __future__ import annotations

import asyncpg


async def lock(conn: asyncpg.Connection) -> None:
    """One closer at a time (the consumer's batch or the month-end job)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('fineract.closed_months'))")


async def first_open_month(conn: asyncpg.Connection) -> str | None:
    """The month after the last closed one; before any, the month of the first balance."""
    last = await conn.fetchval("SELECT max(month) FROM closed_months")
    if last is not None:
        return await conn.fetchval(
            "SELECT to_char(to_date($1, 'YYYY-MM') + interval '1 month', 'YYYY-MM')", last)
    return await conn.fetchval("SELECT to_char(min(day), 'YYYY-MM') FROM day_ends")


async def record_closed(conn: asyncpg.Connection, month: str, customers: int) -> None:
    await conn.execute("INSERT INTO closed_months (month, customers) VALUES ($1, $2)",
                       month, customers)


async def last_closed(conn: asyncpg.Connection) -> str | None:
    return await conn.fetchval("SELECT max(month) FROM closed_months")
