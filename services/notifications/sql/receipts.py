"""Delivery receipts as the providers report them (`delivery_receipts`), and the messages
they settle."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

_RECEIPT_TARGETS = """
SELECT id, member_id, template, channel, provider, provider_message_id, state FROM messages
WHERE provider_message_id = ANY($1::text[]) OR id = ANY($2::uuid[])
ORDER BY id FOR UPDATE
"""


async def receipt_targets(conn: asyncpg.Connection, provider_ids: Sequence[str],
                          message_ids: Sequence[str]) -> list[asyncpg.Record]:
    """The messages receipts name, by the provider's id or ours, locked."""
    return await conn.fetch(_RECEIPT_TARGETS, list(provider_ids), list(message_ids))


async def record_receipts(conn: asyncpg.Connection, receipts: Sequence[tuple],
                          outcomes: Sequence[tuple]) -> None:
    """`receipts`: (provider, provider_message_id, message_id | None, delivered, code);
    `outcomes`: (message_id, state, reason, error_code, finished_at) for messages whose
    state the receipts settle."""
    if receipts:
        await conn.copy_records_to_table(
            "delivery_receipts", records=receipts,
            columns=("provider", "provider_message_id", "message_id", "delivered", "code"))
    if outcomes:
        outcomes = sorted(outcomes)
        cols = list(zip(*outcomes, strict=True))
        await conn.execute(
            "UPDATE messages m SET state = u.state, reason = u.reason,"
            " error_code = u.error_code, finished_at = u.finished_at"
            " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])"
            " AS u (id, state, reason, error_code, finished_at) WHERE m.id = u.id",
            *map(list, cols))
