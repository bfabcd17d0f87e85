"""SQL of earning and refunds: what a card-transaction batch reads and writes besides the
ledger itself. One statement (or COPY) per table per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import asyncpg

from ..domain.earning import Earning, Purchase


async def earned_transactions(conn: asyncpg.Connection,
                              transaction_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT transaction_id FROM unnest($1::text[]) AS t (transaction_id)"
        " JOIN earnings USING (transaction_id)",
        list(transaction_ids))
    return {row[0] for row in rows}


async def tier_history(conn: asyncpg.Connection,
                       member_ids: Sequence[str]) -> dict[str, list[tuple[date, str]]]:
    """Each member's tiers by effective date, oldest first."""
    rows = await conn.fetch(
        "SELECT member_id, effective_date, tier FROM unnest($1::text[]) AS m (member_id)"
        " JOIN member_tiers USING (member_id) ORDER BY member_id, effective_date",
        list(member_ids))
    history: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for row in rows:
        history[row["member_id"]].append((row["effective_date"], row["tier"]))
    return history


async def monthly_bonus_used(conn: asyncpg.Connection,
                             keys: Sequence[tuple[str, date]]) -> dict[tuple[str, date], int]:
    rows = await conn.fetch(
        "SELECT m.member_id, m.month, m.bonus_points FROM monthly_bonus m"
        " JOIN unnest($1::text[], $2::date[]) AS k (member_id, month) USING (member_id, month)",
        [k[0] for k in keys], [k[1] for k in keys])
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
                    "earned_at", "expires_on")


async def record_earnings(conn: asyncpg.Connection,
                          earned: Sequence[tuple[Purchase, Earning]]) -> None:
    """Every evaluated purchase (zero points included), and the month's bonus used."""
    await conn.copy_records_to_table("earnings", columns=_EARNING_COLUMNS, records=[
        (p.transaction_id, p.member_id, p.mcc, p.spend_cny, e.points, e.base, e.bonus,
         e.multiplier, e.tier, list(e.rule_ids), list(e.caps_applied), p.posted_at, e.expires_on)
        for p, e in sorted(earned, key=lambda pe: pe[0].transaction_id)])
    bonuses: dict[tuple[str, date], int] = defaultdict(int)
    for p, e in earned:
        if e.bonus:
            bonuses[(p.member_id, e.month)] += e.bonus
    if bonuses:
        keys = sorted(bonuses)
        await conn.execute(_ADD_TO_MONTHLY_BONUS, [k[0] for k in keys], [k[1] for k in keys],
                           [bonuses[k] for k in keys])


# ---------------------------------------------------------------------- refunds

@dataclass(frozen=True, slots=True)
class Refundable:
    """What refunds of one purchase need: what it earned, and what was refunded so far."""

    member_id: str
    spend: Decimal
    earned: int
    expires_on: date
    refunded: Decimal
    reversed: int


_REFUNDABLE = """
SELECT e.transaction_id, e.member_id, e.spend_cny, e.points, e.expires_on,
       coalesce(sum(r.amount_cny), 0) AS refunded, coalesce(sum(r.points_reversed), 0) AS reversed
FROM unnest($1::text[]) AS t (transaction_id) JOIN earnings e USING (transaction_id)
LEFT JOIN refunds r USING (transaction_id)
GROUP BY e.transaction_id
"""


async def refundable(conn: asyncpg.Connection,
                     transaction_ids: Sequence[str]) -> dict[str, Refundable]:
    rows = await conn.fetch(_REFUNDABLE, sorted(set(transaction_ids)))
    return {row["transaction_id"]: Refundable(
        row["member_id"], row["spend_cny"], row["points"], row["expires_on"],
        row["refunded"], row["reversed"]) for row in rows}


async def known_refunds(conn: asyncpg.Connection, refund_ids: Sequence[str]) -> set[str]:
    """Refunds already applied or already waiting: a re-sent refund changes nothing."""
    rows = await conn.fetch(
        "SELECT refund_id FROM unnest($1::text[]) AS r (refund_id) JOIN refunds USING (refund_id)"
        " UNION ALL SELECT refund_id FROM unnest($1::text[]) AS r (refund_id)"
        " JOIN pending_refunds USING (refund_id)",
        list(refund_ids))
    return {row[0] for row in rows}


async def record_refunds(conn: asyncpg.Connection, rows: Sequence[tuple]) -> None:
    """(refund_id, transaction_id, member_id, amount_cny, points_reversed, refunded_at)"""
    if rows:
        await conn.copy_records_to_table("refunds", records=sorted(rows), columns=(
            "refund_id", "transaction_id", "member_id", "amount_cny", "points_reversed",
            "refunded_at"))


_PENDING_COLUMNS = ("refund_id", "transaction_id", "member_id", "event_id", "payload",
                    "header_names", "header_values")


async def park_refunds(conn: asyncpg.Connection, rows: Sequence[tuple]) -> None:
    """Refunds whose purchase has not arrived: (refund_id, transaction_id, member_id,
    event_id, payload, header_names, header_values)."""
    if rows:
        await conn.copy_records_to_table("pending_refunds", records=sorted(rows),
                                         columns=_PENDING_COLUMNS)


async def take_waiting_refunds(conn: asyncpg.Connection,
                               transaction_ids: Sequence[str]) -> list[asyncpg.Record]:
    """The parked refunds of these purchases, removed from the waiting list."""
    return await conn.fetch(
        "DELETE FROM pending_refunds p USING unnest($1::text[]) AS t (transaction_id)"
        " WHERE p.transaction_id = t.transaction_id"
        " RETURNING refund_id, event_id, payload, header_names, header_values, received_at",
        list(transaction_ids))


async def take_overdue_refunds(conn: asyncpg.Connection, waited_seconds: float,
                               limit: int = 5000) -> list[asyncpg.Record]:
    """Parked refunds that waited too long, removed (they go to the dead-letter topic)."""
    return await conn.fetch(
        "DELETE FROM pending_refunds WHERE refund_id IN (SELECT refund_id FROM pending_refunds"
        " WHERE received_at < now() - make_interval(secs => $1) ORDER BY received_at LIMIT $2"
        " FOR UPDATE SKIP LOCKED)"
        " RETURNING refund_id, member_id, payload, header_names, header_values, received_at",
        waited_seconds, limit)
