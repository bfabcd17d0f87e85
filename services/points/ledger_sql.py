"""All the points service's SQL. Every call handles a whole batch: one statement (or COPY)
per table, rows sorted by key so concurrent transactions lock in the same order."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import asyncpg

from .domain.earning import Earning, Purchase

ISSUANCE = "programme:issuance"
#: Posting ids derive from the fact they record, so the same fact always has the same id.
_POSTINGS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:loyalty:points:postings")


def member_account(member_id: str) -> str:
    return f"member:{member_id}"


def posting_id(kind: str, reference: str) -> uuid.UUID:
    return uuid.uuid5(_POSTINGS, f"{kind}:{reference}")


# ---------------------------------------------------------------------- reads for a batch

async def earned_transactions(conn: asyncpg.Connection, transaction_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT transaction_id FROM earnings WHERE transaction_id = ANY($1::text[])",
        list(transaction_ids))
    return {row[0] for row in rows}


async def member_tiers(conn: asyncpg.Connection, member_ids: Sequence[str]) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT member_id, tier FROM member_tiers WHERE member_id = ANY($1::text[])",
        list(member_ids))
    return {row["member_id"]: row["tier"] for row in rows}


async def monthly_bonus_used(conn: asyncpg.Connection,
                             keys: Sequence[tuple[str, date]]) -> dict[tuple[str, date], int]:
    rows = await conn.fetch(
        "SELECT m.member_id, m.month, m.bonus_points FROM monthly_bonus m"
        " JOIN unnest($1::text[], $2::date[]) AS k (member_id, month) USING (member_id, month)",
        [k[0] for k in keys], [k[1] for k in keys])
    return {(row["member_id"], row["month"]): row["bonus_points"] for row in rows}


# ---------------------------------------------------------------------- writes for a batch

_OPEN_ACCOUNTS = """
INSERT INTO accounts (id, kind, member_id)
SELECT 'member:' || m, 'member', m FROM unnest($1::text[]) AS m ORDER BY m
ON CONFLICT (id) DO NOTHING
"""

_ADD_TO_BALANCES = """
INSERT INTO balances (member_id, points)
SELECT * FROM unnest($1::text[], $2::bigint[]) AS b (member_id, points) ORDER BY member_id
ON CONFLICT (member_id) DO UPDATE
SET points = balances.points + excluded.points, updated_at = now()
"""

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
    """Record evaluated purchases; those that earned points are posted to the ledger (one
    posting, two lines), open a lot, and add to the balance and the month's bonus."""
    earned = sorted(earned, key=lambda pe: (pe[0].member_id, pe[0].transaction_id))
    await conn.copy_records_to_table("earnings", columns=_EARNING_COLUMNS, records=[
        (p.transaction_id, p.member_id, p.mcc, p.spend_cny, e.points, e.base, e.bonus,
         e.multiplier, e.tier, list(e.rule_ids), list(e.caps_applied), p.posted_at, e.expires_on)
        for p, e in earned])

    credited = [(p, e, posting_id("earn", p.transaction_id)) for p, e in earned if e.points]
    if not credited:
        return
    balances: dict[str, int] = defaultdict(int)
    bonuses: dict[tuple[str, date], int] = defaultdict(int)
    for p, e, _ in credited:
        balances[p.member_id] += e.points
        if e.bonus:
            bonuses[(p.member_id, e.month)] += e.bonus
    members = sorted(balances)

    await conn.execute(_OPEN_ACCOUNTS, members)
    await conn.copy_records_to_table(
        "postings", columns=("id", "kind", "reference", "member_id", "occurred_at"),
        records=[(pid, "earn", p.transaction_id, p.member_id, p.posted_at)
                 for p, _, pid in credited])
    await conn.copy_records_to_table(
        "ledger_entries", columns=("posting_id", "account_id", "amount"),
        records=[line for p, e, pid in credited for line in (
            (pid, ISSUANCE, -e.points), (pid, member_account(p.member_id), e.points))])
    await conn.copy_records_to_table(
        "lots", columns=("posting_id", "member_id", "points", "remaining", "earned_at",
                         "expires_on"),
        records=[(pid, p.member_id, e.points, e.points, p.posted_at, e.expires_on)
                 for p, e, pid in credited])
    await conn.execute(_ADD_TO_BALANCES, members, [balances[m] for m in members])
    if bonuses:
        keys = sorted(bonuses)
        await conn.execute(_ADD_TO_MONTHLY_BONUS, [k[0] for k in keys], [k[1] for k in keys],
                           [bonuses[k] for k in keys])


# ---------------------------------------------------------------------- invariants

#: Each query returns the rows that break its invariant (none when the ledger is sound).
INVARIANTS: dict[str, str] = {
    "all ledger entries sum to zero": """
        SELECT sum(amount) AS total FROM ledger_entries HAVING sum(amount) <> 0""",
    "every posting has two or more lines summing to zero": """
        SELECT posting_id, sum(amount) AS total, count(*) AS lines FROM ledger_entries
        GROUP BY posting_id HAVING sum(amount) <> 0 OR count(*) < 2 LIMIT 20""",
    "each member balance equals the sum of its entries": """
        SELECT member_id, b.points AS balance, e.points AS entries FROM balances b
        FULL JOIN (SELECT a.member_id, sum(l.amount) AS points FROM ledger_entries l
                   JOIN accounts a ON a.id = l.account_id WHERE a.kind = 'member'
                   GROUP BY a.member_id) e USING (member_id)
        WHERE b.points IS DISTINCT FROM e.points LIMIT 20""",
    "no lot is negative or above its points": """
        SELECT posting_id, member_id, points, remaining FROM lots
        WHERE remaining < 0 OR remaining > points LIMIT 20""",
    # Holds while points are only earned; reversals may later take a balance below its lots.
    "each member's open lots add up to the balance": """
        SELECT member_id, b.points AS balance, l.remaining FROM balances b
        FULL JOIN (SELECT member_id, sum(remaining) AS remaining FROM lots GROUP BY member_id) l
        USING (member_id)
        WHERE b.points IS DISTINCT FROM l.remaining LIMIT 20""",
}


async def invariant_violations(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    """The broken invariants, each with (up to 20 of) the rows that break it."""
    found = {}
    for name, query in INVARIANTS.items():
        if rows := await conn.fetch(query):
            found[name] = rows
    return found
