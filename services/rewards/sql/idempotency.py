"""The first answer to each (partner, Idempotency-Key), kept as the bytes sent. A redemption
claims its key with its answer (or its redemption) in its save; a cancellation claims it in
its load and stores its answer in its save (sql/redemptions.py). A points-paid redemption's
answer is stored by whoever has it first: the settling consumer or the request that gave up
waiting (202)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

Stored = tuple[int, bytes, str | None]  # status, body, Location


@dataclass(frozen=True, slots=True)
class StoredKey:
    """An Idempotency-Key as stored: its request, and its answer or its redemption (while
    it waits for points)."""

    request_hash: bytes
    redemption_id: str | None
    status_code: int | None
    body: bytes | None
    location: str | None


async def stored_key(conn: asyncpg.Connection, partner_id: str, key: str) -> StoredKey:
    """A key claimed by an earlier request (read after waiting for it: its own statement)."""
    return StoredKey(*await conn.fetchrow(
        "SELECT request_hash, redemption_id, status_code, body, location FROM idempotency"
        " WHERE partner_id = $1 AND key = $2", partner_id, key))


async def store_answer(conn: asyncpg.Connection | asyncpg.Pool, partner_id: str, key: str,
                       status: int, body: bytes, location: str | None) -> Stored:
    """Keep the first answer; whoever stores first wins and everyone returns that one."""
    row = await conn.fetchrow(
        "WITH s AS (UPDATE idempotency SET status_code = $3, body = $4, location = $5"
        "           WHERE partner_id = $1 AND key = $2 AND status_code IS NULL"
        "           RETURNING status_code, body, location)"
        " SELECT * FROM s UNION ALL"
        " SELECT status_code, body, location FROM idempotency"
        "  WHERE partner_id = $1 AND key = $2 AND NOT EXISTS (SELECT FROM s)",
        partner_id, key, status, body, location)
    if row[0] is None:
        # Another transaction (the settling consumer) stored its answer while the UPDATE
        # waited for the row: the SELECT read this statement's older snapshot. Read again.
        row = await conn.fetchrow("SELECT status_code, body, location FROM idempotency"
                                  " WHERE partner_id = $1 AND key = $2", partner_id, key)
    return row[0], row[1], row[2]


async def stored_answer(conn: asyncpg.Connection | asyncpg.Pool, partner_id: str, key: str
                        ) -> Stored | None:
    row = await conn.fetchrow(
        "SELECT status_code, body, location FROM idempotency"
        " WHERE partner_id = $1 AND key = $2 AND status_code IS NOT NULL", partner_id, key)
    return None if row is None else (row[0], row[1], row[2])


_STORE_SETTLED = """
UPDATE idempotency i SET status_code = a.status, body = a.body, location = a.location
FROM unnest($1::text[], $2::int[], $3::bytea[], $4::text[]) AS a (id, status, body, location)
WHERE i.redemption_id = a.id AND {unanswered}
"""
# Both match the partial index idempotency_unanswered (migration 0004).
_UNANSWERED = "i.status_code IS NULL"
_UNANSWERED_OR_202 = "(i.status_code IS NULL OR i.status_code = 202)"


async def store_settled_answers(conn: asyncpg.Connection,
                                answers: Sequence[tuple[str, int, bytes, str | None]],
                                *, over_202: bool = False) -> None:
    """(redemption id, status, body, location): the answers of settled redemptions, for the
    keys still waiting for one (a 202 stored first stays the first answer, unless
    `over_202`: a time-out is final, and a retry of the request must hear it)."""
    if answers:
        answers = sorted(answers)
        statement = _STORE_SETTLED.format(
            unanswered=_UNANSWERED_OR_202 if over_202 else _UNANSWERED)
        await conn.execute(statement, *(list(column) for column in zip(*answers, strict=True)))


async def prune_answered(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM idempotency WHERE created_at < now() - interval '7 days'"
                       " AND status_code IS NOT NULL")
