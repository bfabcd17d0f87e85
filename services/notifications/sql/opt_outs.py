"""Stop replies (`opt_outs`, migration 0008) and the lookups that find their member: the
contact whose number or openid has the reply's keyed hash. Recording one clears the
marketing consent of the contact projection at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class OptOutRow:
    reply_id: str
    member_id: str
    provider: str
    via: str
    keyword: str | None
    received_at: datetime


async def members_by_hash(conn: asyncpg.Connection, column: str,
                          hashes: Sequence[bytes]) -> dict[bytes, list[str]]:
    """The members whose `column` (mobile_hash or openid_hash) is one of `hashes`: a number
    may be shared (a family's phone), so each hash may find several."""
    assert column in ("mobile_hash", "openid_hash")
    rows = await conn.fetch(f"SELECT {column}, member_id FROM contacts"
                            f" WHERE {column} = ANY($1::bytea[]) ORDER BY member_id",
                            list(hashes))
    found: dict[bytes, list[str]] = {}
    for row in rows:
        found.setdefault(bytes(row[0]), []).append(row[1])
    return found


async def record_opt_outs(conn: asyncpg.Connection,
                          rows: Sequence[OptOutRow]) -> list[OptOutRow]:
    """Records the stop replies not recorded before, clears those members' marketing
    consent, and returns the new ones (a pushed-again reply changes nothing)."""
    if not rows:
        return []
    rows = sorted(rows, key=lambda r: (r.member_id, r.reply_id))
    inserted = await conn.fetch(
        "INSERT INTO opt_outs (reply_id, member_id, provider, via, keyword, received_at)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
        "                      $6::timestamptz[])"
        " ON CONFLICT (reply_id, member_id) DO NOTHING RETURNING reply_id, member_id",
        *(list(column) for column in zip(*[
            (r.reply_id, r.member_id, r.provider, r.via, r.keyword, r.received_at)
            for r in rows], strict=True)))
    new = {(row[0], row[1]) for row in inserted}
    fresh = [r for r in rows if (r.reply_id, r.member_id) in new]
    await conn.execute("UPDATE contacts SET marketing_consent = false, updated_at = now()"
                       " WHERE member_id = ANY($1::text[]) AND marketing_consent",
                       sorted({r.member_id for r in fresh}))
    return fresh


async def unhashed(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Contacts of before migration 0008, without their lookup hashes yet."""
    return await conn.fetch(
        "SELECT member_id, mobile_sealed, openid_sealed FROM contacts"
        " WHERE mobile_hash IS NULL ORDER BY member_id LIMIT $1 FOR UPDATE SKIP LOCKED", limit)


async def set_hashes(conn: asyncpg.Connection,
                     rows: Sequence[tuple[str, bytes, bytes | None]]) -> None:
    if rows:
        await conn.execute(
            "UPDATE contacts c SET mobile_hash = u.mobile, openid_hash = u.openid"
            " FROM unnest($1::text[], $2::bytea[], $3::bytea[]) AS u (member_id, mobile, openid)"
            " WHERE c.member_id = u.member_id",
            *(list(column) for column in zip(*rows, strict=True)))
