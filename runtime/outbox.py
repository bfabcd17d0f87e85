"""Writing outgoing records to the outbox, in the caller's transaction."""

from collections.abc import Iterable

import asyncpg

from contracts.envelope import EncodedEvent

_COLUMNS = ("topic", "key", "value", "header_names", "header_values")


async def write(conn: asyncpg.Connection, records: Iterable[EncodedEvent]) -> int:
    rows = [
        (r.topic, r.key, r.value, [h[0] for h in r.headers], [h[1] for h in r.headers])
        for r in records
    ]
    if rows:
        # COPY: one round trip for the whole batch, whatever its size.
        await conn.copy_records_to_table("outbox", records=rows, columns=_COLUMNS)
    return len(rows)
