"""Partners, their signing keys (secrets sealed at rest) and the nonces of signed requests."""

from __future__ import annotations

import asyncpg


async def create_partner(conn: asyncpg.Connection, partner_id: str, name: str,
                         scopes: list[str], lounges: list[str], offers: list[str],
                         rate: int) -> None:
    await conn.execute(
        "INSERT INTO partners (id, name, scopes, lounges, offers, rate_per_second)"
        " VALUES ($1, $2, $3, $4, $5, $6)", partner_id, name, scopes, lounges, offers, rate)


async def add_key(conn: asyncpg.Connection, partner_id: str, key_id: str,
                  secret_sealed: bytes) -> list[str]:
    """Add a live key; at most two stay live (rotation), so the oldest beyond that is
    revoked. Returns the revoked key ids."""
    await conn.execute("SELECT 1 FROM partners WHERE id = $1 FOR UPDATE", partner_id)
    await conn.execute("INSERT INTO partner_keys (key_id, partner_id, secret_enc)"
                       " VALUES ($1, $2, $3)", key_id, partner_id, secret_sealed)
    rows = await conn.fetch(
        "UPDATE partner_keys SET revoked_at = now() WHERE key_id IN ("
        "  SELECT key_id FROM partner_keys WHERE partner_id = $1 AND revoked_at IS NULL"
        "  ORDER BY created_at DESC, key_id OFFSET 2) RETURNING key_id", partner_id)
    return [r["key_id"] for r in rows]


async def revoke_key(conn: asyncpg.Connection | asyncpg.Pool, key_id: str) -> bool:
    return await conn.fetchval(
        "UPDATE partner_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL"
        " RETURNING true", key_id) or False


async def partners_and_live_keys(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT p.id, p.name, p.scopes, p.rate_per_second,"
        " array_agg(k.key_id ORDER BY k.created_at) FILTER"
        " (WHERE k.revoked_at IS NULL) AS live_keys"
        " FROM partners p LEFT JOIN partner_keys k ON k.partner_id = p.id"
        " GROUP BY p.id ORDER BY p.id")


async def sealed_secrets(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT key_id, secret_enc FROM partner_keys ORDER BY key_id"
                            " FOR UPDATE")


async def replace_sealed_secret(conn: asyncpg.Connection, key_id: str, sealed: bytes) -> None:
    await conn.execute("UPDATE partner_keys SET secret_enc = $2 WHERE key_id = $1",
                       key_id, sealed)


async def key_and_partner(conn: asyncpg.Connection | asyncpg.Pool,
                          key_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT k.key_id, k.secret_enc, p.id, p.name, p.scopes, p.lounges, p.offers,"
        "       p.rate_per_second"
        " FROM partner_keys k JOIN partners p ON p.id = k.partner_id"
        " WHERE k.key_id = $1 AND k.revoked_at IS NULL AND p.active", key_id)


async def first_use_of_nonce(conn: asyncpg.Connection | asyncpg.Pool, key_id: str,
                             nonce: str) -> bool:
    """For requests that record nothing else (a partner POST records its nonce in its
    load, sql/redemptions.py)."""
    return await conn.fetchval(
        "INSERT INTO nonces (key_id, nonce) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        " RETURNING true", key_id, nonce) or False


async def prune_nonces(conn: asyncpg.Connection, older_than_seconds: int) -> None:
    """Nonces that can no longer be replayed (their timestamps would be refused)."""
    await conn.execute("DELETE FROM nonces WHERE seen_at < now() - make_interval(secs => $1)",
                       float(older_than_seconds))


# The partner's bucket refilled for the time since its stamp (never back in time: the row
# lock may order a statement after one that read the clock later), and what it grants of
# the tokens asked for: all it has whole, up to $4.
_REFILLED = ("least($3::float8, r.tokens + $3::float8"
             " * greatest(0, extract(epoch FROM excluded.stamp - r.stamp)))")
_GRANTED = f"least($4::int, floor({_REFILLED}))::int"
_ADMIT = f"""
WITH live AS (
    SELECT FROM partner_keys k JOIN partners p ON p.id = k.partner_id
     WHERE k.key_id = $1 AND k.revoked_at IS NULL AND p.active
), taken AS (
    INSERT INTO partner_rates AS r (partner_id, tokens, stamp, granted)
    SELECT $2, $3::float8 - least($4::int, floor($3::float8)), clock_timestamp(),
           least($4::int, floor($3::float8))::int FROM live
    ON CONFLICT (partner_id) DO UPDATE
       SET tokens = {_REFILLED} - {_GRANTED}, granted = {_GRANTED},
           stamp = greatest(r.stamp, excluded.stamp)
     WHERE {_REFILLED} >= 1
    RETURNING granted
)
SELECT EXISTS (SELECT FROM live) AS live, coalesce((SELECT granted FROM taken), 0) AS granted
"""


async def admit(pool: asyncpg.Pool, key_id: str, partner_id: str, rate: int,
                wanted: int) -> tuple[bool, int]:
    """(the key is live now, how many of `wanted` tokens the partner's bucket gave): the
    database's bucket and clock, so every instance sees the same. A key not live takes
    nothing. The bucket's row lock lasts this statement only (the table is unlogged, so its
    commit waits for no WAL flush)."""
    row = await pool.fetchrow(_ADMIT, key_id, partner_id, float(rate), wanted)
    return row["live"], row["granted"]


async def update_partner(conn: asyncpg.Connection, partner_id: str, *,
                         scopes: list[str] | None, lounges: list[str] | None,
                         offers: list[str] | None, rate: int | None) -> asyncpg.Record | None:
    """Set what is given (None leaves it); the partner as it is now, None if unknown."""
    return await conn.fetchrow(
        "UPDATE partners SET scopes = coalesce($2, scopes), lounges = coalesce($3, lounges),"
        " offers = coalesce($4, offers), rate_per_second = coalesce($5, rate_per_second)"
        " WHERE id = $1 RETURNING id, name, scopes, lounges, offers, rate_per_second",
        partner_id, scopes, lounges, offers, rate)
