"""The notifications service's state for its gauges (metrics.py): cheap aggregate reads."""

from __future__ import annotations

import asyncpg


async def queued(conn: asyncpg.Connection) -> asyncpg.Record:
    """Queued messages due now, and those held for later (quiet hours, a retry's backoff,
    a member's contact data awaited), from the partial index on queued rows."""
    return await conn.fetchrow("""
        SELECT count(*) FILTER (WHERE not_before <= now()) AS due,
               count(*) FILTER (WHERE not_before > now()) AS held
        FROM messages WHERE state = 'queued'""")


async def receipts_outstanding(conn: asyncpg.Connection) -> asyncpg.Record:
    """Messages sent whose delivery receipt has not come, and the oldest one's age."""
    return await conn.fetchrow("""
        SELECT count(*) AS outstanding,
               coalesce(extract(epoch FROM now() - min(sent_at)), 0) AS oldest_seconds
        FROM messages WHERE state = 'sent'""")
