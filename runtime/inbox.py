"""The inbox: event ids already processed by this service. Claiming a batch's ids in the
batch's own transaction makes redelivery harmless."""

from collections.abc import Sequence

import asyncpg

_CLAIM = """
INSERT INTO inbox (event_id, topic)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT DO NOTHING
RETURNING event_id
"""


async def claim(conn: asyncpg.Connection, event_ids: Sequence[str], topic: str) -> set[str]:
    """Record the ids and return those seen for the first time."""
    if not event_ids:
        return set()
    rows = await conn.fetch(_CLAIM, list(event_ids), [topic] * len(event_ids))
    return {row[0] for row in rows}
