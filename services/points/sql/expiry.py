"""SQL of the expiry job: due lots a chunk at a time, the members of a chunk nobody else
holds, and the expiring-soon announcements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

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
_EXPIRED_ON = """
SELECT member_id, split_part(rest, ':', 1)::date AS day, count(*) AS n
FROM (SELECT member_id, substr(split_part(reference, '/', 1), length(member_id) + 2) AS rest
      FROM transfers WHERE kind = 'expire' AND member_id = ANY($1::text[])) t
WHERE split_part(rest, ':', 2) = $2
GROUP BY 1, 2
"""


async def expiries_on(conn: asyncpg.Connection, member_ids: Sequence[str],
                      on: date) -> dict[str, dict[date, int]]:
    """How often each lot of the members has expired on the date `on` already."""
    found: dict[str, dict[date, int]] = {}
    for row in await conn.fetch(_EXPIRED_ON, list(member_ids), on.isoformat()):
        found.setdefault(row["member_id"], {})[row["day"]] = row["n"]
    return found


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
