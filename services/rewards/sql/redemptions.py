"""Redemptions, and the load and the save of a partner's POST.

A redemption's load is ONE read: whether the nonce was used, the Idempotency-Key as stored
(if an earlier request has it), and what the decision needs: the code, the member's tier
and closure, the member's usage counter. Its save is ONE guarded statement, and its own
transaction (no transaction block: no BEGIN and COMMIT round trips, no row lock held in
between): the nonce recorded, the key claimed with its answer (or its redemption, while it
waits for points), the code used, the usage taken, the redemption, and the outbox rows of
the events emitted before it (`UnitOfWork.execute`). All of it, or, if what the decision
read changed since it was loaded (the nonce or the key taken by another request, the code
used, the usage moved out of what the decision holds for), nothing: `Changed`, and the
caller loads and decides again. A cancellation loads and locks in one statement
(`load_for_cancel`: it records the nonce and claims the key) and saves in another, in one
transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from runtime.unit_of_work import UnitOfWork

from ..domain.redemptions import Counter, Facts, Redemption
from .idempotency import StoredKey

_COLUMNS = ("id, partner_id, member_id, kind, item_id, title, persons, points, usage_item,"
            " usage_period, usage_taken, status, reason, valid_on, refund_status, created_at,"
            " settled_at, cancelled_at, title_en")

#: What a load did with the request's nonce and key: the nonce was used before (nothing
#: else done); the key is this request's now; or an earlier request holds the key.
Claim = Literal["nonce_reused", "claimed", "held"]
#: SQLSTATE of a guarded save that found what its decision read changed (migration 0006).
CHANGED = "RWG01"


class Changed(Exception):
    """A guarded save wrote nothing: what its decision read changed since it was loaded."""


@dataclass(frozen=True, slots=True)
class Request:
    """A signed partner POST: who, with which nonce, under which key, for what request."""

    partner_id: str
    key_id: str
    nonce: str
    key: str
    request_hash: bytes


_CLAIM = """
WITH nonce AS (
    INSERT INTO nonces (key_id, nonce) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1
), claim AS (
    INSERT INTO idempotency (partner_id, key, request_hash)
    SELECT $3, $4, $5 FROM nonce
    ON CONFLICT DO NOTHING RETURNING 1
)"""

# The facts' parts, numbered by `format`: the code hash's parameter (and when to look it
# up), the counter's item and period parameters.
_CODE = """code AS (
    SELECT member_id, used_at IS NOT NULL AS used, used_by,
           expires_at <= clock_timestamp() AS expired
      FROM codes WHERE code_hash = ${0} AND {1}
)"""
_FACTS = """c.member_id, c.used, c.used_by, c.expired, m.tier, m.closed,
       (SELECT used FROM usage
         WHERE member_id = c.member_id AND item = ${0}::text AND period = ${1}::text) AS usage"""
_FACTS_FROM = """LEFT JOIN code c ON true
  LEFT JOIN members m ON m.member_id = c.member_id"""

_LOAD_FOR_REDEMPTION = "WITH " + _CODE.format(5, "true") + f"""
SELECT EXISTS (SELECT FROM nonces WHERE key_id = $1 AND nonce = $2) AS nonce_used,
       i.request_hash, i.redemption_id, i.status_code, i.body, i.location,
       {_FACTS.format(6, 7)}
  FROM (SELECT) AS one
  LEFT JOIN idempotency i ON i.partner_id = $3 AND i.key = $4
  {_FACTS_FROM}
"""

_LOAD_FOR_CANCEL = _CLAIM + f""", target AS (
    SELECT {_COLUMNS} FROM redemptions
     WHERE id = $6 AND partner_id = $3 AND EXISTS (SELECT FROM claim)
       FOR UPDATE
)
SELECT EXISTS (SELECT FROM nonce) AS fresh, EXISTS (SELECT FROM claim) AS claimed, t.*
  FROM (SELECT) AS one LEFT JOIN target t ON true
"""


def _claim(row: asyncpg.Record) -> Claim:
    if not row["fresh"]:
        return "nonce_reused"
    return "claimed" if row["claimed"] else "held"


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a redemption's load found."""

    nonce_used: bool
    #: The key as an earlier request stored it; None: nobody has it yet.
    stored: StoredKey | None
    facts: Facts


async def load_for_redemption(conn: asyncpg.Connection, r: Request, code_hash: bytes | None,
                              counter: Counter | None) -> Loaded:
    """`code_hash` None: a code that cannot be one (nothing to look up); `counter` None: no
    item to count (an unknown one). Reads only."""
    row = await conn.fetchrow(_LOAD_FOR_REDEMPTION, r.key_id, r.nonce, r.partner_id, r.key,
                              code_hash, *(counter or (None, None)))
    stored = None if row["request_hash"] is None else StoredKey(
        row["request_hash"], row["redemption_id"], row["status_code"], row["body"],
        row["location"])
    return Loaded(row["nonce_used"], stored, _facts(row, r, code_hash))


async def first_use(conn: asyncpg.Connection, r: Request) -> bool:
    """Record the nonce of a request answered from its key's stored answer: False if it was
    used before."""
    return bool(await conn.fetchval(
        "INSERT INTO nonces (key_id, nonce) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        " RETURNING true", r.key_id, r.nonce))


def _facts(row: asyncpg.Record, r: Request, code_hash: bytes | None) -> Facts:
    if code_hash is None:
        return Facts(code="malformed")
    if row["member_id"] is None or row["used"] and row["used_by"] != r.partner_id:
        return Facts(code="unknown")  # another partner's use is none of this one's business
    return Facts(code="used" if row["used"] else "expired" if row["expired"] else "live",
                 member_id=row["member_id"], tier=row["tier"], closed=bool(row["closed"]),
                 used=row["usage"] or 0)


async def load_for_cancel(conn: asyncpg.Connection, r: Request, redemption_id: str
                          ) -> tuple[Claim, Redemption | None]:
    row = await conn.fetchrow(_LOAD_FOR_CANCEL, r.key_id, r.nonce, r.partner_id, r.key,
                              r.request_hash, redemption_id)
    found = None if row["id"] is None else Redemption(**{
        k: v for k, v in row.items() if k not in ("fresh", "claimed")})
    return _claim(row), found


# Guarded: the nonce and the key new, the code still live, the counter within what the
# decision holds for ($21 to $22, NULL: any), the id (its short reference) not drawn before.
_CLAIMED = """
WITH nonce AS (
    INSERT INTO nonces (key_id, nonce) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1
), claim AS (
    INSERT INTO idempotency (partner_id, key, request_hash, redemption_id, status_code, body,
                             location)
    SELECT $3, $4, $5, $6, $7, $8, $9 FROM nonce
    ON CONFLICT DO NOTHING RETURNING 1
)"""

_RECORD = _CLAIMED + """, code AS (
    UPDATE codes SET used_at = clock_timestamp(), used_by = $3
     WHERE code_hash = $10 AND used_at IS NULL AND expires_at > clock_timestamp()
    RETURNING 1
), counter AS (
    INSERT INTO usage AS u (member_id, item, period, used) VALUES ($11, $12, $13, $14)
    ON CONFLICT (member_id, item, period) DO UPDATE SET used = u.used + excluded.used
     WHERE u.used >= $21 AND (u.used <= $22::int OR $22::int IS NULL)
    RETURNING 1
), redemption AS (
    INSERT INTO redemptions (id, partner_id, member_id, kind, item_id, title, persons, points,
                             usage_item, usage_period, usage_taken, status, valid_on,
                             created_at, settled_at)
    VALUES ($6, $3, $11, $15, $16, $17, $18, $19, $12, $13, $14, $20, $23, $24, $25)
    ON CONFLICT (id) DO NOTHING RETURNING 1
)
SELECT as_loaded(EXISTS (SELECT FROM claim) AND EXISTS (SELECT FROM code)
                 AND EXISTS (SELECT FROM counter) AND EXISTS (SELECT FROM redemption))
"""

_REFUSE = _CLAIMED + """
SELECT as_loaded(EXISTS (SELECT FROM claim))
"""


async def record(uow: UnitOfWork, req: Request, r: Redemption, code_hash: bytes,
                 answer: tuple[int, bytes, str | None] | None) -> None:
    """A new redemption: the request's nonce and key, its code used, its usage taken, the
    answer for its key (None while it waits for the points service), and the events
    emitted so far; or `Changed`."""
    status, body, location = answer or (None, None, None)
    await guarded(uow.execute(
        _RECORD, req.key_id, req.nonce, r.partner_id, req.key, req.request_hash, r.id,
        status, body, location, code_hash, r.member_id, r.usage_item, r.usage_period,
        r.usage_taken, r.kind, r.item_id, r.title, r.persons, r.points, r.status,
        *r.holds_for, r.valid_on, r.created_at, r.settled_at))


async def refuse(conn: asyncpg.Connection, req: Request,
                 answer: tuple[int, bytes, str | None]) -> None:
    """A refusal as the key's answer, with the request's nonce; or `Changed`."""
    await guarded(conn.execute(_REFUSE, req.key_id, req.nonce, req.partner_id, req.key,
                               req.request_hash, None, *answer))


async def guarded(statement: Awaitable[object]) -> None:
    try:
        await statement
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == CHANGED:
            raise Changed() from None
        raise


_SAVE_CANCELLED = """
WITH cancelled AS (
    UPDATE redemptions SET status = $2, cancelled_at = $3, refund_status = $4 WHERE id = $1
), given_back AS (
    UPDATE usage SET used = greatest(0, used - $8)
     WHERE member_id = $5 AND item = $6 AND period = $7 AND $8 > 0
)
UPDATE idempotency SET status_code = $11, body = $12, location = $13
 WHERE partner_id = $9 AND key = $10
"""


async def save_cancelled(uow: UnitOfWork, r: Redemption, key: str,
                         answer: tuple[int, bytes, str | None]) -> None:
    """A cancelled redemption: its usage given back, the answer for its key, and the events
    emitted so far."""
    await uow.execute(_SAVE_CANCELLED, r.id, r.status, r.cancelled_at, r.refund_status,
                       r.member_id, r.usage_item, r.usage_period, r.usage_taken,
                       r.partner_id, key, *answer)


async def redemption(conn: asyncpg.Connection | asyncpg.Pool, partner_id: str,
                     redemption_id: str) -> Redemption | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM redemptions"
                              " WHERE id = $1 AND partner_id = $2", redemption_id, partner_id)
    return None if row is None else Redemption(**row)


async def partner_redemptions(conn: asyncpg.Connection | asyncpg.Pool, partner_id: str,
                              limit: int, before: tuple[datetime, str] | None,
                              status: str | None) -> list[Redemption]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM redemptions WHERE partner_id = $1"
        " AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))"
        " AND ($4::text IS NULL OR status = $4)"
        " ORDER BY created_at DESC, id DESC LIMIT $5",
        partner_id, before[0] if before else None, before[1] if before else None, status, limit)
    return [Redemption(**row) for row in rows]


# ---------------------------------------------------------------------- the saga's answers

_SETTLE = f"""
UPDATE redemptions r SET status = s.status, reason = s.reason, settled_at = clock_timestamp()
FROM unnest($1::text[], $2::text[], $3::text[]) AS s (id, status, reason)
WHERE r.id = s.id AND r.status = 'pending'
RETURNING {", ".join("r." + c.strip() for c in _COLUMNS.split(","))}
"""


async def settle(conn: asyncpg.Connection,
                 outcomes: dict[str, tuple[str, str | None]]) -> list[Redemption]:
    """Pending redemptions -> confirmed | rejected (with the reason); the ones that moved."""
    ids = sorted(outcomes)
    if not ids:
        return []
    rows = await conn.fetch(_SETTLE, ids, [outcomes[i][0] for i in ids],
                            [outcomes[i][1] for i in ids])
    return [Redemption(**row) for row in rows]


async def pending_since(conn: asyncpg.Connection, seconds: float, limit: int
                        ) -> list[Redemption]:
    """Up to `limit` of the oldest redemptions pending for `seconds` or more, locked; those
    another transaction holds (being settled or cancelled right now) are skipped."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM redemptions WHERE status = 'pending'"
        " AND created_at <= clock_timestamp() - make_interval(secs => $1)"
        " ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED", seconds, limit)
    return [Redemption(**row) for row in rows]


async def locked(conn: asyncpg.Connection, ids: list[str]) -> list[Redemption]:
    """These redemptions (those that exist), locked in id order."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM redemptions WHERE id = ANY($1::text[])"
                            " ORDER BY id FOR UPDATE", sorted(ids))
    return [Redemption(**row) for row in rows]


async def save_refunds(conn: asyncpg.Connection, redemptions: list[Redemption]) -> None:
    """Their refund status, as changed by late answers of the points service."""
    if redemptions:
        await conn.execute(
            "UPDATE redemptions r SET refund_status = s.refund_status"
            " FROM unnest($1::text[], $2::text[]) AS s (id, refund_status) WHERE r.id = s.id",
            [r.id for r in redemptions], [r.refund_status for r in redemptions])


async def mark_refunded(conn: asyncpg.Connection, ids: list[str]) -> None:
    if ids:
        await conn.execute(
            "UPDATE redemptions SET refund_status = 'refunded' WHERE id = ANY($1::text[])"
            " AND refund_status = 'requested'", sorted(ids))


async def notify_settled(conn: asyncpg.Connection, channel: str, ids: list[str]) -> None:
    """Delivered at commit to every instance's listener (settlements.py), whoever consumed
    the answer."""
    if ids:
        await conn.execute("SELECT pg_notify($1, id) FROM unnest($2::text[]) AS id",
                           channel, ids)
