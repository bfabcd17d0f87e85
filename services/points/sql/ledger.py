"""Members' ledgers: loaded (and locked) for a batch, written back set-wise.

Every writer locks the balances of the members it touches first, in member order, before it
reads their lots: the balance row is the member's lock, so two transactions (an earning
batch and a debit batch, or two instances during a rebalance) never interleave on a member.

A member's first purchase creates that row, which no other transaction sees before it
commits; a tier change must not miss that purchase (it re-rates what was earned before it
was recorded). So a transaction opening a ledger also takes the member's advisory lock
(shared), and a tier change takes it exclusively (`lock_members`) before anything else:
whichever commits first, the other sees what it did.

`load` locks the members' existing rows first and opens (then locks) only the members it
did not find: most batches open nobody and cost one statement. A batch opening a member
holds its other members' locks meanwhile, so it can rarely deadlock: with a batch that
found one of those members open (opened since) and has just opened this one too, or with a
tier change of this member waiting for one of those; PostgreSQL breaks the deadlock and the
batch is retried whole (runtime/retry.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import asyncpg

from ..domain.ledger import COUNTER_ACCOUNT, MemberLedger, Posting


def member_account(member_id: str) -> str:
    return f"member:{member_id}"


# Advisory locks are database-wide: the key names the schema (tests run many side by side).
_MEMBER_KEY = "hashtextextended(current_schema() || '.member:' || member_id, 0)"
_OPEN = f"""
WITH m AS (SELECT DISTINCT unnest($1::text[]) AS member_id ORDER BY 1),
     opened AS (INSERT INTO accounts (id, kind, member_id)
                SELECT 'member:' || member_id, 'member', member_id FROM m
                ON CONFLICT (id) DO NOTHING),
     new AS (INSERT INTO balances (member_id, points) SELECT member_id, 0 FROM m
             ON CONFLICT (member_id) DO NOTHING RETURNING member_id)
SELECT count(pg_advisory_xact_lock_shared({_MEMBER_KEY}))
FROM (SELECT member_id FROM new ORDER BY 1) n
"""
# Looks each member up with unnest rather than `= ANY($1)`: a generic plan made while a table
# was small may scan it, and a scan tests each row against the whole array (500 ids) one by
# one. And through LATERAL rather than a join: a join's plan depends on the table's size and
# the cost settings (mid-size, a hash join over a full scan), a lateral lookup is always a
# key lookup per member. The nested loop takes the locks in the input's (member) order.
_LOCK = """
SELECT b.member_id, b.points
FROM unnest($1::text[]) AS m (member_id)
CROSS JOIN LATERAL (SELECT member_id, points FROM balances
                    WHERE member_id = m.member_id FOR UPDATE) b
"""
# Read after the lock, in a statement of its own: a statement that waited for a balance's
# lock sees that row anew but the rest as it was when it began, so a closure committed
# while it waited would otherwise look open (and its ledger get credited).
# With when they closed, and what they forfeited (net) since: late facts are trued up
# against it (domain/ledger.py), summed over the member's transfers (transfers_member): a
# condition on kind would let the plan walk every member's forfeitures in transfers_pkey.
# OFFSET 0 keeps a lateral subquery from being flattened into a join (see _LOCK).
_CLOSED = """
SELECT m.member_id, c.closed_at,
       (SELECT coalesce(sum(CASE WHEN t.debit_account = 'member:' || t.member_id
                                 THEN t.points ELSE -t.points END)
                        FILTER (WHERE t.kind = 'forfeit'), 0)
        FROM transfers t WHERE t.member_id = m.member_id) AS forfeited
FROM unnest($1::text[]) AS m (member_id)
CROSS JOIN LATERAL (SELECT closed_at FROM closed_members
                    WHERE member_id = m.member_id OFFSET 0) c
"""
_LOTS = """
SELECT m.member_id, l.expires_on, l.remaining
FROM unnest($1::text[]) AS m (member_id)
CROSS JOIN LATERAL (SELECT expires_on, remaining FROM lots
                    WHERE member_id = m.member_id AND remaining > 0 OFFSET 0) l
"""


async def lock_members(conn: asyncpg.Connection, member_ids: Iterable[str]) -> None:
    """Wait for the transactions opening these members' ledgers, and keep those that would
    open one waiting until this transaction ends (see the module's docstring)."""
    await conn.execute(
        f"SELECT count(pg_advisory_xact_lock({_MEMBER_KEY}))"
        " FROM (SELECT DISTINCT unnest($1::text[]) AS member_id ORDER BY 1) m",
        list(member_ids))


async def load(conn: asyncpg.Connection, member_ids: Iterable[str], *,
               open_missing: bool | Collection[str] = True) -> dict[str, MemberLedger]:
    """The members' ledgers, locked until the transaction ends. A member the ledger has
    never seen gets an empty one if `open_missing` (or if named in it), else is left out
    (a debit for them is rejected)."""
    members = sorted(set(member_ids))
    if not members:
        return {}
    locked = await conn.fetch(_LOCK, members)
    if len(locked) < len(members) and open_missing:
        found = {row["member_id"] for row in locked}
        opening = [m for m in members if m not in found
                   and (open_missing is True or m in open_missing)]
        if opening:  # first purchases: open their ledgers, then lock them too
            await conn.execute(_OPEN, opening)
            locked += await conn.fetch(_LOCK, opening)
    closed = {row["member_id"]: row
              for row in await conn.fetch(_CLOSED, [r["member_id"] for r in locked])}
    ledgers = {row["member_id"]: MemberLedger(row["member_id"], row["points"])
               for row in locked}
    for member, row in closed.items():
        ledgers[member].closed = True
        ledgers[member].closed_at = row["closed_at"]
        ledgers[member].forfeited = row["forfeited"]
    for row in await conn.fetch(_LOTS, list(ledgers)):
        ledgers[row["member_id"]].lots[row["expires_on"]] = row["remaining"]
    return ledgers


# An upsert rather than UPDATE … FROM unnest: its arbiter index makes each row a key lookup
# whatever the table's size (see _LOCK). Every ledger saved was loaded, so its row exists
# and is updated (in place: no indexed column changes); nothing is inserted.
_SET_BALANCES = """
INSERT INTO balances (member_id, points)
SELECT * FROM unnest($1::text[], $2::bigint[])
ON CONFLICT (member_id) DO UPDATE SET points = excluded.points, updated_at = now()
"""
_SET_LOTS = """
INSERT INTO lots (member_id, expires_on, remaining)
SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[]) ORDER BY 1, 2
ON CONFLICT (member_id, expires_on) DO UPDATE SET remaining = excluded.remaining
"""


async def save(conn: asyncpg.Connection, ledgers: Iterable[MemberLedger]) -> list[Posting]:
    """Append the ledgers' new postings (one transfer each) and write their balances and
    the lots they touched. Returns the postings written."""
    changed = sorted((g for g in ledgers if g.postings), key=lambda g: g.member_id)
    postings = [p for g in changed for p in g.postings]
    if not postings:
        return []
    await conn.copy_records_to_table("transfers", columns=_TRANSFER_COLUMNS,
                                     records=map(_transfer, postings))
    await conn.execute(_SET_BALANCES, [g.member_id for g in changed],
                       [g.balance for g in changed])
    lots = [(g.member_id, day, g.lots[day]) for g in changed for day in sorted(g.touched)]
    if lots:
        await conn.execute(_SET_LOTS, *map(list, zip(*lots, strict=True)))
    for g in changed:
        g.postings.clear()
        g.touched.clear()
    return postings


_TRANSFER_COLUMNS = ("kind", "reference", "member_id", "debit_account", "credit_account",
                     "points", "occurred_at")


def _transfer(p: Posting) -> tuple:
    """A posting as the transfer that records it: points > 0 move from the programme account
    to the member, < 0 from the member to the programme account."""
    member, counter = member_account(p.member_id), COUNTER_ACCOUNT[p.kind]
    if p.points > 0:
        return p.kind, p.reference, p.member_id, counter, member, p.points, p.occurred_at
    return p.kind, p.reference, p.member_id, member, counter, -p.points, p.occurred_at


# ---------------------------------------------------------------------- invariants

#: Each query returns the rows that break its invariant (none when the ledger is sound).
INVARIANTS: dict[str, str] = {
    "all ledger entries sum to zero": """
        SELECT sum(amount) AS total FROM ledger_entries HAVING sum(amount) <> 0""",
    "every transfer moves points between a member and a programme account": """
        SELECT t.kind, t.reference, t.debit_account, t.credit_account FROM transfers t
        WHERE NOT ((t.debit_account = 'member:' || t.member_id
                    AND t.credit_account LIKE 'programme:%')
                OR (t.credit_account = 'member:' || t.member_id
                    AND t.debit_account LIKE 'programme:%')) LIMIT 20""",
    "each member balance equals the sum of its entries": """
        SELECT member_id, b.points AS balance, e.points AS entries FROM balances b
        FULL JOIN (SELECT a.member_id, sum(l.amount) AS points FROM ledger_entries l
                   JOIN accounts a ON a.id = l.account_id WHERE a.kind = 'member'
                   GROUP BY a.member_id) e USING (member_id)
        WHERE coalesce(b.points, 0) <> coalesce(e.points, 0) LIMIT 20""",
    "every entry names an account that exists": """
        SELECT l.transfer_id, l.account_id FROM ledger_entries l
        WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = l.account_id) LIMIT 20""",
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
            SELECT 1 FROM transfers t WHERE t.member_id = b.member_id AND t.kind = 'reverse')
        LIMIT 20""",
    # Points coming back after closing are forfeited at once; nothing is earned or re-rated.
    "a closed member holds no points": """
        SELECT member_id, points FROM balances JOIN closed_members USING (member_id)
        WHERE points > 0 LIMIT 20""",
    "every re-rating that moved points has its transfer": """
        SELECT r.reference, r.points_moved, t.points FROM reratings r
        LEFT JOIN transfers t ON t.reference = r.reference
            AND t.kind = CASE WHEN r.points_moved > 0 THEN 'earn' ELSE 'reverse' END
        WHERE r.points_moved <> 0 AND t.points IS DISTINCT FROM abs(r.points_moved)
        LIMIT 20""",
}


async def invariant_violations(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    """The broken invariants, each with (up to 20 of) the rows that break it."""
    found = {}
    for name, query in INVARIANTS.items():
        if rows := await conn.fetch(query):
            found[name] = rows
    return found
