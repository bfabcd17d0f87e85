"""Delivery receipts as the providers report them (`delivery_receipts`), the messages
they settle, and the sent SMS whose receipt has not come, to ask their provider about."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

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


_UNREPORTED = """
WITH due AS (
    SELECT id, member_id FROM messages
    WHERE state = 'sent' AND channel = 'sms' AND provider = $4 AND sent_at <= $5
      AND coalesce(receipt_check_at, sent_at) <= $1 AND receipt_lookups < $6
    ORDER BY sent_at LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE messages m SET receipt_lookups = m.receipt_lookups + 1, receipt_check_at = $3
FROM due LEFT JOIN contacts c USING (member_id)
WHERE m.id = due.id
RETURNING m.id, m.provider, m.provider_message_id, m.sent_at, m.receipt_lookups,
       m.member_id, m.traceparent, c.mobile_sealed
"""


async def claim_unreported(conn: asyncpg.Connection, now: datetime, limit: int,
                           check_again_at: datetime, provider: str, after: timedelta,
                           max_lookups: int) -> list[asyncpg.Record]:
    """SMS messages `provider` sent over `after` ago whose receipt has not come, due a
    lookup (fewer than `max_lookups` so far): counted and set to be due again at
    `check_again_at` (the caller commits this before asking, so a crash only delays)."""
    return await conn.fetch(_UNREPORTED, now, limit, check_again_at, provider, now - after,
                            max_lookups)
