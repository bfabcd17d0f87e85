"""Rewards against points, read across the two schemas in one snapshot: each check a query
returning the rows that are off.

A redemption's id is the points service's debit id and the reference of its `debit` and
`refund` transfers (one transfer per kind and reference: the primary key)."""

from __future__ import annotations

import asyncpg

# {r}: the rewards schema, {p}: the points schema. `bounds`: the seconds a fact may be in
# flight (a cancellation on its way to points), and how long a redemption may stay pending.
_BOUNDS = "WITH bounds AS (SELECT $1::float8 AS in_flight, $2::float8 AS pending) "
CHECKS: dict[str, str] = {
    "every confirmed points-paid redemption has exactly one debit of its points": """
        SELECT r.id, r.status, r.points, t.points AS debited FROM {r}.redemptions r
          LEFT JOIN {p}.transfers t ON t.kind = 'debit' AND t.reference = r.id
         WHERE r.points > 0 AND r.settled_at IS NOT NULL
           AND r.status IN ('confirmed', 'cancelled')
           AND t.points IS DISTINCT FROM r.points
         LIMIT 20""",
    "every cancelled points-paid redemption has exactly one refund of its points": """
        SELECT r.id, r.points, t.points AS refunded, r.refund_status FROM {r}.redemptions r
          JOIN {p}.debits d ON d.debit_id = r.id AND d.outcome = 'debited'
          LEFT JOIN {p}.transfers t ON t.kind = 'refund' AND t.reference = r.id
         WHERE r.status = 'cancelled' AND r.points > 0
           AND r.cancelled_at < now() - make_interval(secs => (SELECT in_flight FROM bounds))
           AND (t.points IS DISTINCT FROM r.points
                OR r.refund_status IS DISTINCT FROM 'refunded')
         LIMIT 20""",
    "no debit stands for a redemption that is not confirmed": """
        SELECT d.debit_id, d.points, r.status FROM {p}.debits d
          LEFT JOIN {r}.redemptions r ON r.id = d.debit_id
         WHERE d.outcome = 'debited' AND d.refunded_at IS NULL
           AND d.decided_at < now() - make_interval(secs => (SELECT in_flight FROM bounds))
           AND r.status IS DISTINCT FROM 'confirmed'
         LIMIT 20""",
    "nothing is pending past its bound": """
        SELECT r.id, r.partner_id, r.created_at FROM {r}.redemptions r
         WHERE r.status = 'pending'
           AND r.created_at < now() - make_interval(secs => (SELECT pending FROM bounds))
         LIMIT 20""",
}


async def rewards_against_points(conn: asyncpg.Connection, rewards: str, points: str,
                                 in_flight_seconds: float,
                                 pending_bound_seconds: float) -> dict[str, list[asyncpg.Record]]:
    """The checks that fail, with their offending rows (at most 20 each)."""
    found = {}
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for name, query in CHECKS.items():
            sql = _BOUNDS + query.format(r=f'"{rewards}"', p=f'"{points}"')
            if rows := await conn.fetch(sql, in_flight_seconds, pending_bound_seconds):
                found[name] = rows
    return found
