"""The inbox: event ids already processed by this service. Claiming a batch's ids in the
batch's own transaction makes redelivery harmless.

Ids are kept for `inbox_retention_days` (settings), longer than Kafka keeps the records
(7 days, deploy/local): an id can only come back while its record is still in the log, or
when a producer re-sends, which happens within minutes. Older ids are pruned in chunks.
"""

from collections.abc import Sequence

import asyncpg

_CLAIM = """
INSERT INTO inbox (event_id, topic)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT DO NOTHING
RETURNING event_id
"""
_PRUNE = """
DELETE FROM inbox WHERE event_id IN (
    SELECT event_id FROM inbox WHERE processed_at < now() - make_interval(days => $1)
    LIMIT $2)
"""


async def claim(conn: asyncpg.Connection, event_ids: Sequence[str], topic: str) -> set[str]:
    """Record the ids and return those seen for the first time."""
    if not event_ids:
        return set()
    rows = await conn.fetch(_CLAIM, list(event_ids), [topic] * len(event_ids))
    return {row[0] for row in rows}


async def prune(pool: asyncpg.Pool, retention_days: int, chunk: int = 10_000) -> int:
    """Delete ids processed more than `retention_days` ago, a chunk per transaction so no
    lock is held long; returns how many went."""
    pruned = 0
    while True:
        status = await pool.execute(_PRUNE, retention_days, chunk)
        deleted = int(status.split()[-1])
        pruned += deleted
        if deleted < chunk:
            return pruned
