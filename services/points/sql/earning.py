"""SQL of earning: which purchases were already earned on, the monthly bonus used, and the
earnings of a batch. One statement (or COPY) per table per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date

import asyncpg

from ..domain.earning import Earning, Purchase

# Key lookups per purchase or month whatever the tables' sizes: LATERAL (OFFSET 0 keeps it from
# being flattened into a join, whose plan turns to a hash join over a full scan while a table
# is mid-size), as in sql/ledger.py.
_EARNED = """
SELECT t.transaction_id, e.event_id FROM unnest($1::text[]) AS t (transaction_id)
CROSS JOIN LATERAL (SELECT event_id FROM earnings
                    WHERE transaction_id = t.transaction_id OFFSET 0) e
"""
_MONTHLY_BONUS = """
SELECT k.member_id, k.month, b.bonus_points
FROM unnest($1::text[], $2::date[]) AS k (member_id, month)
CROSS JOIN LATERAL (SELECT bonus_points FROM monthly_bonus
                    WHERE member_id = k.member_id AND month = k.month OFFSET 0) b
"""


async def earned_transactions(conn: asyncpg.Connection,
                              transaction_ids: Sequence[str]) -> dict[str, str | None]:
    """The purchases already earned on, each with the id of the event that earned (None if
    earned before that was kept)."""
    rows = await conn.fetch(_EARNED, list(transaction_ids))
    return {row[0]: row[1] for row in rows}


async def monthly_bonus_used(conn: asyncpg.Connection,
                             keys: Sequence[tuple[str, date]]) -> dict[tuple[str, date], int]:
    rows = await conn.fetch(_MONTHLY_BONUS, [k[0] for k in keys], [k[1] for k in keys])
    return {(row["member_id"], row["month"]): row["bonus_points"] for row in rows}


_ADD_TO_MONTHLY_BONUS = """
INSERT INTO monthly_bonus (member_id, month, bonus_points)
SELECT * FROM unnest($1::text[], $2::date[], $3::int[]) AS b (member_id, month, bonus_points)
ORDER BY member_id, month
ON CONFLICT (member_id, month) DO UPDATE
SET bonus_points = monthly_bonus.bonus_points + excluded.bonus_points
"""
_EARNING_COLUMNS = ("transaction_id", "member_id", "mcc", "spend_cny", "points", "base_points",
                    "bonus_points", "multiplier", "tier", "rule_ids", "caps_applied",
                    "earned_at", "expires_on", "channel", "city", "event_id")


async def record_earnings(conn: asyncpg.Connection, earned: Sequence[tuple[Purchase, Earning]],
                          event_ids: Mapping[str, str]) -> None:
    """Every evaluated purchase (zero points included) with the id of the event that
    earned (`event_ids` by transaction), and the month's bonus used."""
    await conn.copy_records_to_table("earnings", columns=_EARNING_COLUMNS, records=[
        (p.transaction_id, p.member_id, p.mcc, p.spend_cny, e.points, e.base, e.bonus,
         e.multiplier, e.tier, list(e.rule_ids), list(e.caps_applied), p.posted_at, e.expires_on,
         p.channel, p.city, event_ids[p.transaction_id])
        for p, e in sorted(earned, key=lambda pe: pe[0].transaction_id)])
    bonuses: dict[tuple[str, date], int] = defaultdict(int)
    for p, e in earned:
        if e.bonus:
            bonuses[(p.member_id, e.month)] += e.bonus
    if bonuses:
        keys = sorted(bonuses)
        await conn.execute(_ADD_TO_MONTHLY_BONUS, [k[0] for k in keys], [k[1] for k in keys],
                           [bonuses[k] for k in keys])


async def set_monthly_bonus(conn: asyncpg.Connection,
                            totals: Mapping[tuple[str, date], int]) -> None:
    """Months whose purchases were rated again: the bonus they use now (a month using none
    has no row, as if it had been earned that way)."""
    used = sorted(k for k, points in totals.items() if points)
    if used:
        await conn.execute(
            "INSERT INTO monthly_bonus (member_id, month, bonus_points)"
            " SELECT * FROM unnest($1::text[], $2::date[], $3::int[])"
            " ON CONFLICT (member_id, month) DO UPDATE SET bonus_points = excluded.bonus_points",
            [k[0] for k in used], [k[1] for k in used], [totals[k] for k in used])
    if unused := sorted(k for k, points in totals.items() if not points):
        await conn.execute(
            "DELETE FROM monthly_bonus m USING unnest($1::text[], $2::date[]) AS u (member_id,"
            " month) WHERE m.member_id = u.member_id AND m.month = u.month",
            [k[0] for k in unused], [k[1] for k in unused])
