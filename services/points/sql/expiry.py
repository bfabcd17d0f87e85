"""SQL of the expiry job: due lots a chunk at a time, the members of a chunk nobody else
holds, and the expiring-soon announcements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import asyncpg

from ..domain.ledger import expiry_reference

#: Where a walk over the due lots starts: before every (expiry date, member).
START: tuple[date, str] = (date.min, "")

# Keyset over lots_due_members (expires_on, member_id): each chunk reads on from the last.
_DUE = """
SELECT expires_on, member_id FROM lots
WHERE expires_on < $1 AND remaining > 0 AND (expires_on, member_id) > ($2, $3)
ORDER BY expires_on, member_id LIMIT $4
"""


async def due_lots(conn: asyncpg.Connection, today: date, after: tuple[date, str],
                   limit: int) -> tuple[list[str], tuple[date, str]]:
    """Members holding points past their expiry date (a lot expires after its day), the
    next `limit` lots after `after`; and where the next chunk starts."""
    rows = await conn.fetch(_DUE, today, *after, limit)
    if not rows:
        return [], after
    return sorted({row["member_id"] for row in rows}), tuple(rows[-1])


async def lock_free(conn: asyncpg.Connection, member_ids: Sequence[str]) -> list[str]:
    """Lock the members' ledgers (their balance rows, as every writer does) that no other
    transaction holds; the others are skipped (another instance of the job, or a consumer,
    is writing them)."""
    rows = await conn.fetch(
        "SELECT b.member_id FROM unnest($1::text[]) AS m (member_id)"
        " JOIN balances b USING (member_id) ORDER BY b.member_id FOR UPDATE OF b SKIP LOCKED",
        list(member_ids))
    return [row[0] for row in rows]


# References `<member>:<lot day>:<date>` or `.../<n>` (domain/ledger.py expiry_reference).
# A lot's first expiry on a date is found by its reference (a primary key probe); only
# lots found there can have expired again that date, and only their members' expiries are
# read: never a member's whole history of transfers.
_FIRST_EXPIRIES = """
SELECT r.reference FROM unnest($1::text[]) AS r (reference)
JOIN transfers t ON t.kind = 'expire' AND t.reference = r.reference
"""
_EXPIRED_ON = """
SELECT member_id, split_part(rest, ':', 1)::date AS day, count(*) AS n
FROM (SELECT member_id, substr(split_part(reference, '/', 1), length(member_id) + 2) AS rest
      FROM unnest($1::text[]) AS m (member_id) JOIN transfers t USING (member_id)
      WHERE t.kind = 'expire') t
WHERE split_part(rest, ':', 2) = $2
GROUP BY 1, 2
"""


async def expiries_on(conn: asyncpg.Connection, lots: Sequence[tuple[str, date]],
                      at: datetime) -> dict[str, dict[date, int]]:
    """How often each of these lots (member, day) has expired on `at`'s date already."""
    first = {expiry_reference(member, day, at): member for member, day in lots}
    rows = await conn.fetch(_FIRST_EXPIRIES, list(first))
    again = sorted({first[row[0]] for row in rows})
    found: dict[str, dict[date, int]] = {}
    if again:
        for row in await conn.fetch(_EXPIRED_ON, again, at.date().isoformat()):
            found.setdefault(row["member_id"], {})[row["day"]] = row["n"]
    return found


async def drop_empty(conn: asyncpg.Connection, member_ids: Sequence[str], today: date) -> None:
    """Forget the members' lots that are past and empty (an expired lot holds nothing that
    a ledger reads), so the walk over due lots does not read every past year's lots again
    on each run. A lot refilled later (a cancelled redemption) is written anew."""
    await conn.execute(
        "DELETE FROM lots l USING unnest($1::text[]) AS m (member_id)"
        " WHERE l.member_id = m.member_id AND l.expires_on < $2 AND l.remaining = 0",
        list(member_ids), today)


_ANNOUNCE = """
INSERT INTO expiry_notices (member_id, expires_on, points)
SELECT member_id, expires_on, remaining FROM lots l
WHERE expires_on BETWEEN $1 AND $2 AND remaining > 0 AND NOT EXISTS (
    SELECT 1 FROM expiry_notices n
    WHERE n.member_id = l.member_id AND n.expires_on = l.expires_on)
ORDER BY expires_on, member_id LIMIT $3
ON CONFLICT (member_id, expires_on) DO NOTHING
RETURNING member_id, expires_on, points
"""


async def announce(conn: asyncpg.Connection, today: date, until: date,
                   limit: int) -> list[asyncpg.Record]:
    """Up to `limit` lots expiring in [today, until] not yet announced, now recorded as
    announced (a lot another transaction is announcing is left to it)."""
    return await conn.fetch(_ANNOUNCE, today, until, limit)
