"""All the rewards service's SQL. Consumer writes handle a whole batch per statement, rows
sorted by key; request paths take row locks in one order (code, then usage) and keep to a
few round trips."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import asyncpg

# ---------------------------------------------------------------------- catalogue

_UPSERT_OFFERS = """
INSERT INTO offers (id, merchant, industry, title, points_price, discount_percent, valid_from,
                    valid_until, eligible_tiers, limit_per_period, period)
SELECT id, merchant, industry, title, pp, dp, vf, vu, tiers::text[], lim, per
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::date[],
            $8::date[], $9::text[], $10::int[], $11::text[])
     AS o (id, merchant, industry, title, pp, dp, vf, vu, tiers, lim, per)
ORDER BY 1
ON CONFLICT (id) DO UPDATE SET
    merchant = excluded.merchant, industry = excluded.industry, title = excluded.title,
    points_price = excluded.points_price, discount_percent = excluded.discount_percent,
    valid_from = excluded.valid_from, valid_until = excluded.valid_until,
    eligible_tiers = excluded.eligible_tiers, limit_per_period = excluded.limit_per_period,
    period = excluded.period
"""

_UPSERT_LOUNGES = """
INSERT INTO lounges (id, airport_code, city, terminal, name, operator_id, operator)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[])
ORDER BY 1
ON CONFLICT (id) DO UPDATE SET
    airport_code = excluded.airport_code, city = excluded.city, terminal = excluded.terminal,
    name = excluded.name, operator_id = excluded.operator_id, operator = excluded.operator
"""


async def upsert_catalogue(conn: asyncpg.Connection, offers: Sequence[dict],
                           lounges: Sequence[dict]) -> None:
    """The shipped catalogue, idempotently: every start may run it."""
    def num(value: str) -> int | None:
        return int(value) if value else None

    o = sorted(offers, key=lambda r: r["offer_id"])
    await conn.execute(
        _UPSERT_OFFERS, [r["offer_id"] for r in o], [r["merchant"] for r in o],
        [r["industry"] for r in o], [r["title"] for r in o], [num(r["points_price"]) for r in o],
        [num(r["discount_percent"]) for r in o],
        [date.fromisoformat(r["valid_from"]) for r in o],
        [date.fromisoformat(r["valid_until"]) for r in o],
        # text[] of a pipe list: stored as a Postgres array literal per row
        ["{" + ",".join(r["eligible_tiers"].split("|")) + "}" for r in o],
        [int(r["limit_per_period"]) for r in o], [r["period"] for r in o])
    ls = sorted(lounges, key=lambda r: r["lounge_id"])
    await conn.execute(
        _UPSERT_LOUNGES, *([r[c] for r in ls] for c in (
            "lounge_id", "airport_code", "city", "terminal", "name", "operator_id", "operator")))


async def catalogue(conn: asyncpg.Connection) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    offers = await conn.fetch("SELECT * FROM offers ORDER BY id")
    lounges = await conn.fetch("SELECT * FROM lounges ORDER BY id")
    return offers, lounges


# ---------------------------------------------------------------------- partners

async def create_partner(conn: asyncpg.Connection, partner_id: str, name: str,
                         scopes: list[str], lounges: list[str], offers: list[str],
                         rate: int) -> None:
    await conn.execute(
        "INSERT INTO partners (id, name, scopes, lounges, offers, rate_per_second)"
        " VALUES ($1, $2, $3, $4, $5, $6)", partner_id, name, scopes, lounges, offers, rate)


async def add_key(conn: asyncpg.Connection, partner_id: str, key_id: str,
                  secret_enc: bytes) -> list[str]:
    """Add a live key; at most two stay live (rotation), so the oldest beyond that is
    revoked. Returns the revoked key ids."""
    await conn.execute("SELECT 1 FROM partners WHERE id = $1 FOR UPDATE", partner_id)
    await conn.execute("INSERT INTO partner_keys (key_id, partner_id, secret_enc)"
                       " VALUES ($1, $2, $3)", key_id, partner_id, secret_enc)
    rows = await conn.fetch(
        "UPDATE partner_keys SET revoked_at = now() WHERE key_id IN ("
        "  SELECT key_id FROM partner_keys WHERE partner_id = $1 AND revoked_at IS NULL"
        "  ORDER BY created_at DESC, key_id OFFSET 2) RETURNING key_id", partner_id)
    return [r["key_id"] for r in rows]


async def revoke_key(conn: asyncpg.Connection, key_id: str) -> bool:
    return await conn.fetchval(
        "UPDATE partner_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL"
        " RETURNING true", key_id) or False


async def key_and_partner(conn: asyncpg.Connection, key_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT k.key_id, k.secret_enc, p.id, p.name, p.scopes, p.lounges, p.offers,"
        "       p.rate_per_second"
        " FROM partner_keys k JOIN partners p ON p.id = k.partner_id"
        " WHERE k.key_id = $1 AND k.revoked_at IS NULL AND p.active", key_id)


async def first_use_of_nonce(conn: asyncpg.Connection, key_id: str, nonce: str) -> bool:
    return await conn.fetchval(
        "INSERT INTO nonces (key_id, nonce) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        " RETURNING true", key_id, nonce) or False


async def prune(conn: asyncpg.Connection, nonce_seconds: int) -> None:
    """Forget what can no longer matter: replayable nonces, dead codes, old idempotency keys."""
    await conn.execute("DELETE FROM nonces WHERE seen_at < now() - make_interval(secs => $1)",
                       float(nonce_seconds))
    await conn.execute("DELETE FROM codes WHERE expires_at < now() - interval '1 day'")
    await conn.execute("DELETE FROM idempotency WHERE created_at < now() - interval '7 days'"
                       " AND status_code IS NOT NULL")


# ---------------------------------------------------------------------- idempotency

async def claim_key(conn: asyncpg.Connection, partner_id: str, key: str,
                    request_hash: bytes) -> bool:
    """True when this request is the first with the key. A concurrent first holder's
    uncommitted row makes this wait (unique index) until it commits or rolls back."""
    return await conn.fetchval(
        "INSERT INTO idempotency (partner_id, key, request_hash) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING RETURNING true", partner_id, key, request_hash) or False


async def stored_key(conn: asyncpg.Connection, partner_id: str, key: str) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT request_hash, redemption_id, status_code, body, location FROM idempotency"
        " WHERE partner_id = $1 AND key = $2", partner_id, key)


async def key_redemption(conn: asyncpg.Connection, partner_id: str, key: str,
                         redemption_id: str) -> None:
    await conn.execute("UPDATE idempotency SET redemption_id = $3"
                       " WHERE partner_id = $1 AND key = $2", partner_id, key, redemption_id)


async def store_answer(conn: asyncpg.Connection | asyncpg.Pool, partner_id: str, key: str,
                       status: int, body: bytes, location: str | None
                       ) -> tuple[int, bytes, str | None]:
    """Keep the first answer (the bytes sent); whoever stores first wins and everyone
    returns that one."""
    row = await conn.fetchrow(
        "WITH s AS (UPDATE idempotency SET status_code = $3, body = $4, location = $5"
        "           WHERE partner_id = $1 AND key = $2 AND status_code IS NULL"
        "           RETURNING status_code, body, location)"
        " SELECT * FROM s UNION ALL"
        " SELECT status_code, body, location FROM idempotency"
        "  WHERE partner_id = $1 AND key = $2 AND NOT EXISTS (SELECT FROM s)",
        partner_id, key, status, body, location)
    return row[0], row[1], row[2]


async def stored_answer(conn: asyncpg.Connection | asyncpg.Pool, partner_id: str, key: str
                        ) -> tuple[int, bytes, str | None] | None:
    row = await conn.fetchrow(
        "SELECT status_code, body, location FROM idempotency"
        " WHERE partner_id = $1 AND key = $2 AND status_code IS NOT NULL", partner_id, key)
    return None if row is None else (row[0], row[1], row[2])


_STORE_SETTLED = """
UPDATE idempotency i SET status_code = a.status, body = a.body, location = a.location
FROM unnest($1::text[], $2::int[], $3::bytea[], $4::text[]) AS a (id, status, body, location)
WHERE i.redemption_id = a.id AND i.status_code IS NULL
"""


async def store_settled_answers(conn: asyncpg.Connection,
                                answers: Sequence[tuple[str, int, bytes, str | None]]) -> None:
    """(redemption id, status, body, location): the answers of settled redemptions, for the
    keys still waiting for one (a 202 stored first stays the first answer)."""
    if answers:
        answers = sorted(answers)
        await conn.execute(_STORE_SETTLED, *(list(column) for column in zip(*answers,
                                                                             strict=True)))


# ---------------------------------------------------------------------- the lounge hot path

#: SQLSTATE raised by redeem_lounge_visit() when it does not commit the visit.
DECLINED = "RWD01"

_REDEEM_LOUNGE_VISIT = """
SELECT * FROM redeem_lounge_visit($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12,
                                  $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
"""


class Declined(Exception):
    """The one-call lounge visit did not apply; nothing of it was kept."""


async def redeem_lounge_visit(
        conn: asyncpg.Connection | asyncpg.Pool, *, key_id: str, nonce: str, partner_id: str,
        key: str, request_hash: bytes, code_hash: bytes, allowances: str, period: str,
        redemption_id: str, lounge_id: str, title: str, persons: int, valid_on: date,
        at: datetime, body: bytes, location: str, topic: str, value_head: bytes,
        value_tail: bytes, header_names: list[str], header_values: list[bytes],
        subject_placeholder: bytes) -> tuple[int, bytes, str | None]:
    """A lounge visit inside the allowance in one call and one commit (migration 0002 says
    what it does and in what order); the answer stored for (partner, key). Declined: nothing
    was kept, and the general path decides."""
    try:
        row = await conn.fetchrow(
            _REDEEM_LOUNGE_VISIT, key_id, nonce, partner_id, key, request_hash, code_hash,
            allowances, period, redemption_id, lounge_id, title, persons, valid_on, at, body,
            location, topic, value_head, value_tail, header_names, header_values,
            subject_placeholder)
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == DECLINED:
            raise Declined(str(exc)) from None
        raise
    return row[0], row[1], row[2]


# ---------------------------------------------------------------------- codes and members

async def insert_code(conn: asyncpg.Connection | asyncpg.Pool, code_hash: bytes,
                      member_id: str, expires_at: datetime) -> None:
    await conn.execute("INSERT INTO codes (code_hash, member_id, expires_at)"
                       " VALUES ($1, $2, $3)", code_hash, member_id, expires_at)


async def use_code(conn: asyncpg.Connection, code_hash: bytes) -> asyncpg.Record | None:
    """The member of a live code (with its tier and closure, in the same round trip),
    marking the code used; None if unknown, used or expired. The WHERE is re-checked on the
    latest row version, so two redemptions cannot both win."""
    return await conn.fetchrow(
        "WITH used AS (UPDATE codes SET used_at = clock_timestamp() WHERE code_hash = $1"
        "              AND used_at IS NULL AND expires_at > clock_timestamp()"
        "              RETURNING member_id)"
        " SELECT used.member_id, m.tier, m.closed FROM used"
        " LEFT JOIN members m ON m.member_id = used.member_id", code_hash)


async def code_state(conn: asyncpg.Connection, code_hash: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT used_at IS NOT NULL AS used, expires_at <= clock_timestamp() AS expired"
        " FROM codes WHERE code_hash = $1", code_hash)


async def member(conn: asyncpg.Connection | asyncpg.Pool, member_id: str
                 ) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT tier, closed FROM members WHERE member_id = $1",
                               member_id)


# ---------------------------------------------------------------------- usage

async def lock_usage(conn: asyncpg.Connection, member_id: str, item: str, period: str) -> int:
    """What the member used of `item` in `period`, with the row locked until commit."""
    return await conn.fetchval(
        "INSERT INTO usage (member_id, item, period, used) VALUES ($1, $2, $3, 0)"
        " ON CONFLICT (member_id, item, period) DO UPDATE SET used = usage.used"
        " RETURNING used", member_id, item, period)


async def read_usage(conn: asyncpg.Connection | asyncpg.Pool, member_id: str, item: str,
                     period: str) -> int:
    return await conn.fetchval(
        "SELECT used FROM usage WHERE member_id = $1 AND item = $2 AND period = $3",
        member_id, item, period) or 0


async def add_usage(conn: asyncpg.Connection, member_id: str, item: str, period: str,
                    n: int) -> None:
    await conn.execute("UPDATE usage SET used = used + $4"
                       " WHERE member_id = $1 AND item = $2 AND period = $3",
                       member_id, item, period, n)


_GIVE_BACK = """
UPDATE usage u SET used = greatest(0, u.used - g.n)
FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS g (member_id, item, period, n)
WHERE u.member_id = g.member_id AND u.item = g.item AND u.period = g.period
"""


async def give_back(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> None:
    """Return what rejected or cancelled redemptions took from the members' usage."""
    totals: dict[tuple[str, str, str], int] = {}
    for r in rows:
        if r["usage_taken"]:
            key = (r["member_id"], r["usage_item"], r["usage_period"])
            totals[key] = totals.get(key, 0) + r["usage_taken"]
    if totals:
        keys = sorted(totals)
        await conn.execute(_GIVE_BACK, [k[0] for k in keys], [k[1] for k in keys],
                           [k[2] for k in keys], [totals[k] for k in keys])


# ---------------------------------------------------------------------- redemptions

_COLUMNS = ("id, partner_id, member_id, kind, item_id, title, persons, points, usage_item,"
            " usage_period, usage_taken, status, reason, valid_on, refund_status, created_at,"
            " settled_at, cancelled_at")


async def insert_redemption(conn: asyncpg.Connection, r: dict) -> asyncpg.Record:
    return await conn.fetchrow(
        "INSERT INTO redemptions (id, partner_id, member_id, kind, item_id, title, persons,"
        " points, usage_item, usage_period, usage_taken, status, valid_on, settled_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
        "         CASE WHEN $12 = 'confirmed' THEN clock_timestamp() END)"
        f" RETURNING {_COLUMNS}",
        r["id"], r["partner_id"], r["member_id"], r["kind"], r["item_id"], r["title"],
        r["persons"], r["points"], r["usage_item"], r["usage_period"], r["usage_taken"],
        r["status"], r["valid_on"])


async def redemption(conn: asyncpg.Connection | asyncpg.Pool, partner_id: str,
                     redemption_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM redemptions"
                               " WHERE id = $1 AND partner_id = $2", redemption_id, partner_id)


async def partner_redemptions(conn: asyncpg.Connection | asyncpg.Pool, partner_id: str,
                              limit: int, before: tuple[datetime, str] | None,
                              status: str | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {_COLUMNS} FROM redemptions WHERE partner_id = $1"
        " AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))"
        " AND ($4::text IS NULL OR status = $4)"
        " ORDER BY created_at DESC, id DESC LIMIT $5",
        partner_id, before[0] if before else None, before[1] if before else None, status, limit)


async def cancel(conn: asyncpg.Connection, partner_id: str,
                 redemption_id: str) -> asyncpg.Record | None:
    """Cancel a confirmed redemption (once: the status moves on)."""
    return await conn.fetchrow(
        "UPDATE redemptions SET status = 'cancelled', cancelled_at = clock_timestamp(),"
        " refund_status = CASE WHEN points > 0 THEN 'requested' END"
        " WHERE id = $1 AND partner_id = $2 AND status = 'confirmed'"
        f" RETURNING {_COLUMNS}", redemption_id, partner_id)


# ---------------------------------------------------------------------- consumers

_SETTLE = f"""
UPDATE redemptions r SET status = s.status, reason = s.reason, settled_at = clock_timestamp()
FROM unnest($1::text[], $2::text[], $3::text[]) AS s (id, status, reason)
WHERE r.id = s.id AND r.status = 'pending'
RETURNING {", ".join("r." + c.strip() for c in _COLUMNS.split(","))}
"""


async def settle(conn: asyncpg.Connection,
                 outcomes: Sequence[tuple[str, str, str | None]]) -> list[asyncpg.Record]:
    """(id, 'confirmed'|'rejected', reason) for pending redemptions; the ones that moved."""
    outcomes = sorted(outcomes)
    return await conn.fetch(_SETTLE, [o[0] for o in outcomes], [o[1] for o in outcomes],
                            [o[2] for o in outcomes])


async def mark_refunded(conn: asyncpg.Connection, ids: Sequence[str]) -> list[str]:
    rows = await conn.fetch(
        "UPDATE redemptions SET refund_status = 'refunded' WHERE id = ANY($1::text[])"
        " AND refund_status = 'requested' RETURNING id", sorted(ids))
    return [r["id"] for r in rows]


async def notify_settled(conn: asyncpg.Connection, channel: str, ids: Sequence[str]) -> None:
    """Delivered at commit to every instance's waiter (LISTEN), whoever consumed the answer."""
    if ids:
        await conn.execute("SELECT pg_notify($1, id) FROM unnest($2::text[]) AS id",
                           channel, list(ids))


_TIERS = """
INSERT INTO members (member_id, tier, changed_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) ORDER BY 1
ON CONFLICT (member_id) DO UPDATE SET tier = excluded.tier, changed_at = excluded.changed_at
WHERE members.changed_at <= excluded.changed_at
"""

_CLOSED = """
INSERT INTO members (member_id, tier, closed, changed_at)
SELECT m, 'standard', true, t FROM unnest($1::text[], $2::timestamptz[]) AS c (m, t) ORDER BY 1
ON CONFLICT (member_id) DO UPDATE SET closed = true
"""


async def project_tiers(conn: asyncpg.Connection,
                        tiers: dict[str, tuple[str, datetime]]) -> None:
    if tiers:
        keys = sorted(tiers)
        await conn.execute(_TIERS, keys, [tiers[k][0] for k in keys],
                           [tiers[k][1] for k in keys])


async def project_closed(conn: asyncpg.Connection, closed: dict[str, datetime]) -> None:
    if closed:
        keys = sorted(closed)
        await conn.execute(_CLOSED, keys, [closed[k] for k in keys])
