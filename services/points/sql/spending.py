"""SQL of the monthly spending profiles (handlers/spending.py): the month's run and its
cursor, the purchases of a chunk of members by MCC and the city each bought in most."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import asyncpg


async def claim(conn: asyncpg.Connection, month: date) -> str | None:
    """The month's run, locked until the transaction ends (made if it is the first): the
    last member published, or None if the month is done or another instance holds it."""
    await conn.execute("INSERT INTO spending_profile_runs (month) VALUES ($1)"
                       " ON CONFLICT DO NOTHING", month)
    row = await conn.fetchrow("SELECT after, done_at FROM spending_profile_runs"
                              " WHERE month = $1 FOR UPDATE SKIP LOCKED", month)
    return None if row is None or row["done_at"] is not None else row["after"]


async def advance(conn: asyncpg.Connection, month: date, after: str, published: int,
                  done: bool) -> None:
    await conn.execute(
        "UPDATE spending_profile_runs SET after = $2, published = published + $3,"
        " done_at = CASE WHEN $4 THEN now() END WHERE month = $1",
        month, after, published, done)


# The next members with purchases in the window, then their purchases by MCC.
_PURCHASES = """
WITH chunk AS (
    SELECT DISTINCT member_id FROM earnings
    WHERE member_id > $3 AND earned_at >= $1 AND earned_at < $2
    ORDER BY member_id LIMIT $4)
SELECT e.member_id, e.mcc, count(*)::int AS purchases, sum(e.spend_cny) AS spend
FROM earnings e JOIN chunk USING (member_id)
WHERE e.earned_at >= $1 AND e.earned_at < $2
GROUP BY e.member_id, e.mcc ORDER BY e.member_id, e.mcc
"""


async def purchases_by_mcc(conn: asyncpg.Connection, since: datetime, until: datetime,
                           after: str, members: int) -> list[asyncpg.Record]:
    """(member_id, mcc, purchases, spend) of the next `members` members after `after` who
    bought in [since, until), by member."""
    return await conn.fetch(_PURCHASES, since, until, after, members)


async def main_cities(conn: asyncpg.Connection, members: Sequence[str], since: datetime,
                      until: datetime) -> dict[str, str]:
    """The city each member bought in most in [since, until) (ties: the latest, then by
    name)."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (member_id) member_id, city FROM earnings"
        " WHERE member_id = ANY($1::text[]) AND earned_at >= $2 AND earned_at < $3"
        " AND city IS NOT NULL GROUP BY member_id, city"
        " ORDER BY member_id, count(*) DESC, max(earned_at) DESC, city",
        list(members), since, until)
    return {r["member_id"]: r["city"] for r in rows}
