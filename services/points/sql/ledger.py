"""Members' ledgers: loaded (and locked) for a batch, written back set-wise.

Every writer locks the balances of the members it touches first, in member order, before it
reads their lots: the balance row is the member's lock, so two transactions (an earning
batch and a debit batch, or two instances during a rebalance) never interleave on a member.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import asyncpg

from ..domain.ledger import COUNTER_ACCOUNT, MemberLedger, Posting

#: Posting ids derive from the fact they record, so the same fact always has the same id.
_POSTINGS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:loyalty:points:postings")


def member_account(member_id: str) -> str:
    return f"member:{member_id}"


def posting_id(kind: str, reference: str) -> uuid.UUID:
    return uuid.uuid5(_POSTINGS, f"{kind}:{reference}")


_OPEN = """
WITH m AS (SELECT DISTINCT unnest($1::text[]) AS member_id ORDER BY 1),
     opened AS (INSERT INTO accounts (id, kind, member_id)
                SELECT 'member:' || member_id, 'member', member_id FROM m
                ON CONFLICT (id) DO NOTHING)
INSERT INTO balances (member_id, points) SELECT member_id, 0 FROM m
ON CONFLICT (member_id) DO NOTHING
"""
_LOCK = """
SELECT b.member_id, b.points, c.member_id IS NOT NULL AS closed
FROM balances b LEFT JOIN closed_members c USING (member_id)
WHERE b.member_id = ANY($1::text[]) ORDER BY b.member_id FOR UPDATE OF b
"""
_LOTS = """
SELECT member_id, expires_on, remaining FROM lots
WHERE member_id = ANY($1::text[]) AND remaining > 0
"""


async def load(conn: asyncpg.Connection, member_ids: Iterable[str], *,
               open_missing: bool = True) -> dict[str, MemberLedger]:
    """The members' ledgers, locked until the transaction ends. Without `open_missing`, a
    member the ledger has never seen is left out (a debit for them is rejected)."""
    members = sorted(set(member_ids))
    if not members:
        return {}
    if open_missing:
        await conn.execute(_OPEN, members)
    ledgers = {row["member_id"]: MemberLedger(row["member_id"], row["points"],
                                              closed=row["closed"])
               for row in await conn.fetch(_LOCK, members)}
    for row in await conn.fetch(_LOTS, list(ledgers)):
        ledgers[row["member_id"]].lots[row["expires_on"]] = row["remaining"]
    return ledgers


_SET_BALANCES = """
UPDATE balances b SET points = u.points, updated_at = now()
FROM unnest($1::text[], $2::bigint[]) AS u (member_id, points) WHERE b.member_id = u.member_id
"""
_SET_LOTS = """
INSERT INTO lots (member_id, expires_on, remaining)
SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[]) ORDER BY 1, 2
ON CONFLICT (member_id, expires_on) DO UPDATE SET remaining = excluded.remaining
"""


async def save(conn: asyncpg.Connection, ledgers: Iterable[MemberLedger]) -> list[Posting]:
    """Append the ledgers' new postings (two lines each) and write their balances and the
    lots they touched. Returns the postings written."""
    changed = sorted((g for g in ledgers if g.postings), key=lambda g: g.member_id)
    postings = [p for g in changed for p in g.postings]
    if not postings:
        return []
    await conn.copy_records_to_table(
        "postings", columns=("id", "kind", "reference", "member_id", "occurred_at"),
        records=[(posting_id(p.kind, p.reference), p.kind, p.reference, p.member_id,
                  p.occurred_at) for p in postings])
    await conn.copy_records_to_table(
        "ledger_entries", columns=("posting_id", "account_id", "amount"),
        records=[line for p in postings for line in _lines(p)])
    await conn.execute(_SET_BALANCES, [g.member_id for g in changed],
                       [g.balance for g in changed])
    lots = [(g.member_id, day, g.lots[day]) for g in changed for day in sorted(g.touched)]
    if lots:
        await conn.execute(_SET_LOTS, *map(list, zip(*lots, strict=True)))
    for g in changed:
        g.postings.clear()
        g.touched.clear()
    return postings


def _lines(p: Posting) -> tuple[tuple[uuid.UUID, str, int], tuple[uuid.UUID, str, int]]:
    pid = posting_id(p.kind, p.reference)
    return (pid, member_account(p.member_id), p.points), (pid, COUNTER_ACCOUNT[p.kind], -p.points)


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
        WHERE coalesce(b.points, 0) <> coalesce(e.points, 0) LIMIT 20""",
    "every entry names a posting and an account that exist": """
        SELECT l.id, l.posting_id, l.account_id FROM ledger_entries l
        WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.id = l.posting_id)
           OR NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = l.account_id) LIMIT 20""",
    "no lot is negative": """
        SELECT member_id, expires_on, remaining FROM lots WHERE remaining < 0 LIMIT 20""",
    # Only a reversal takes a balance below zero, and then no lot holds anything.
    "each member's lots add up to the balance, or to zero when in debt": """
        SELECT member_id, b.points AS balance, l.remaining FROM balances b
        FULL JOIN (SELECT member_id, sum(remaining) AS remaining FROM lots GROUP BY member_id) l
        USING (member_id)
        WHERE greatest(coalesce(b.points, 0), 0) <> coalesce(l.remaining, 0) LIMIT 20""",
    "no debit overdrew: a debited member's balance never went below zero by debits": """
        SELECT member_id, points FROM balances b WHERE points < 0 AND NOT EXISTS (
            SELECT 1 FROM postings p WHERE p.member_id = b.member_id AND p.kind = 'reverse')
        LIMIT 20""",
}


async def invariant_violations(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    """The broken invariants, each with (up to 20 of) the rows that break it."""
    found = {}
    for name, query in INVARIANTS.items():
        if rows := await conn.fetch(query):
            found[name] = rows
    return found
