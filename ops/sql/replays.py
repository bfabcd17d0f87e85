"""Replayed dead letters (the `ops` schema, migrations/) and the inbox rows a replay
releases in the consuming service's schema."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import asyncpg

from runtime.db import create_pool, migrate

SCHEMA = "ops"
MIGRATIONS = sorted((Path(__file__).parent.parent / "migrations").glob("*.sql"))


async def ensure(database_url: str) -> None:
    """The ops schema and its tables (migrations applied once each, as the services do)."""
    pool = await create_pool(database_url, SCHEMA, max_size=2)
    try:
        await migrate(pool, SCHEMA, MIGRATIONS)
    finally:
        await pool.close()


async def replayed(conn: asyncpg.Connection,
                   places: Sequence[tuple[str, int, int]]) -> dict[tuple[str, int, int], str]:
    """When each of these dead letters (topic, partition, offset) was replayed, if it was."""
    rows = await conn.fetch(
        "SELECT r.dlq_topic, r.dlq_partition, r.dlq_offset, r.replayed_at"
        " FROM ops.dead_letter_replays r"
        " JOIN unnest($1::text[], $2::int[], $3::bigint[]) AS p (t, n, o)"
        "   ON (r.dlq_topic, r.dlq_partition, r.dlq_offset) = (p.t, p.n, p.o)",
        [p[0] for p in places], [p[1] for p in places], [p[2] for p in places])
    return {(r[0], r[1], r[2]): r[3].isoformat(timespec="seconds") for r in rows}


async def mark(conn: asyncpg.Connection, place: tuple[str, int, int], event_id: str | None,
               original_topic: str, group: str, by: str, *, again: bool) -> bool:
    """Record the replay; False if it was replayed before (and `again` is not set)."""
    return bool(await conn.fetchval(
        "INSERT INTO ops.dead_letter_replays (dlq_topic, dlq_partition, dlq_offset, event_id,"
        " original_topic, consumer_group, replayed_by) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (dlq_topic, dlq_partition, dlq_offset) DO UPDATE"
        " SET replayed_at = now(), replayed_by = excluded.replayed_by WHERE $8"
        " RETURNING true", *place, event_id, original_topic, group, by, again))


async def release(conn: asyncpg.Connection, schema: str, event_id: str) -> bool:
    """Forget the event id in the consumer group's inbox (claimed when it was dead-lettered),
    so the replayed record is applied; held until commit, so the consumer claiming it
    meanwhile waits for this transaction."""
    status = await conn.execute(
        f'DELETE FROM "{schema}".inbox WHERE event_id = $1', event_id)
    return status.endswith(" 1")
