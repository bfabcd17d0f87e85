"""Savings accounts and their day-end balances."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import asyncpg


@dataclass(frozen=True, slots=True)
class Account:
    account_id: int
    client_id: int
    currency: str
    closed_on: date | None


@dataclass(frozen=True, slots=True)
class DayEnd:
    account_id: int
    day: date
    balance: Decimal
    as_of: datetime
    seq: int


async def save_accounts(conn: asyncpg.Connection, accounts: Sequence[Account]) -> None:
    """The last state of each account (a closing date, once set, stays)."""
    latest = {a.account_id: a for a in accounts}
    rows = sorted(latest.values(), key=lambda a: a.account_id)
    await conn.execute(
        "INSERT INTO savings_accounts (account_id, client_id, currency, closed_on)"
        " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::date[])"
        " ON CONFLICT (account_id) DO UPDATE SET client_id = EXCLUDED.client_id,"
        "   currency = EXCLUDED.currency,"
        "   closed_on = COALESCE(savings_accounts.closed_on, EXCLUDED.closed_on)",
        [a.account_id for a in rows], [a.client_id for a in rows],
        [a.currency for a in rows], [a.closed_on for a in rows])


async def save_day_ends(conn: asyncpg.Connection, day_ends: Sequence[DayEnd]) -> None:
    """Keep, per account and day, the balance reported last (by creation time, then seq)."""
    latest: dict[tuple[int, date], DayEnd] = {}
    for d in day_ends:
        kept = latest.get((d.account_id, d.day))
        if kept is None or (d.as_of, d.seq) >= (kept.as_of, kept.seq):
            latest[(d.account_id, d.day)] = d
    rows = [latest[k] for k in sorted(latest)]
    await conn.execute(
        "INSERT INTO day_ends (account_id, day, balance, as_of, seq)"
        " SELECT * FROM unnest($1::bigint[], $2::date[], $3::numeric[], $4::timestamptz[],"
        "                      $5::bigint[])"
        " ON CONFLICT (account_id, day) DO UPDATE SET balance = EXCLUDED.balance,"
        "   as_of = EXCLUDED.as_of, seq = EXCLUDED.seq"
        " WHERE (EXCLUDED.as_of, EXCLUDED.seq) >= (day_ends.as_of, day_ends.seq)",
        [r.account_id for r in rows], [r.day for r in rows], [r.balance for r in rows],
        [r.as_of for r in rows], [r.seq for r in rows])


async def client_ids(conn: asyncpg.Connection, account_ids: Sequence[int]) -> list[int]:
    rows = await conn.fetch("SELECT DISTINCT client_id FROM savings_accounts"
                            " WHERE account_id = ANY($1::bigint[])", list(account_ids))
    return [row["client_id"] for row in rows]


@dataclass
class MonthBalances:
    """Per client, each account's last day-end before the month and those inside it."""

    opening: dict[int, dict[int, Decimal]]
    inside: dict[int, dict[int, dict[date, Decimal]]]


# Accounts open on some day of the month ($1 its first day), of clients not left out.
_OF_MONTH = ("FROM day_ends d JOIN savings_accounts a USING (account_id)"
             " LEFT JOIN clients c USING (client_id)"
             " WHERE c.included IS NOT FALSE AND (a.closed_on IS NULL OR a.closed_on >= $1)")


async def month_balances(conn: asyncpg.Connection, first: date, last: date) -> MonthBalances:
    opening = await conn.fetch(
        "SELECT DISTINCT ON (d.account_id) a.client_id, d.account_id, d.balance "
        + _OF_MONTH + " AND d.day < $1 ORDER BY d.account_id, d.day DESC", first)
    inside = await conn.fetch(
        "SELECT a.client_id, d.account_id, d.day, d.balance "
        + _OF_MONTH + " AND d.day BETWEEN $1 AND $2", first, last)
    result = MonthBalances(defaultdict(dict), defaultdict(lambda: defaultdict(dict)))
    for row in opening:
        result.opening[row["client_id"]][row["account_id"]] = row["balance"]
    for row in inside:
        result.inside[row["client_id"]][row["account_id"]][row["day"]] = row["balance"]
    return result
