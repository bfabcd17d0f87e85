"""The contact projection (`contacts`) and the members whose contact data is gone
(`closed_members`); a closure also clears what the message log holds of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class ContactRow:
    member_id: str
    family_name: str
    gender: str
    birth_date: date
    mobile_sealed: bytes
    mobile_masked: str
    openid_sealed: bytes | None
    language: str
    service_consent: bool
    marketing_consent: bool
    changed_at: datetime


_UPSERT_CONTACTS = """
INSERT INTO contacts (member_id, family_name, gender, birth_date, mobile_sealed, mobile_masked,
                      openid_sealed, language, service_consent, marketing_consent, changed_at)
SELECT c.* FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::bytea[], $6::text[],
                       $7::bytea[], $8::text[], $9::boolean[], $10::boolean[],
                       $11::timestamptz[])
     AS c (member_id, family_name, gender, birth_date, mobile_sealed, mobile_masked,
           openid_sealed, language, service_consent, marketing_consent, changed_at)
WHERE NOT EXISTS (SELECT 1 FROM closed_members x WHERE x.member_id = c.member_id)
ORDER BY 1
ON CONFLICT (member_id) DO UPDATE SET
    family_name = excluded.family_name, gender = excluded.gender,
    birth_date = excluded.birth_date, mobile_sealed = excluded.mobile_sealed,
    mobile_masked = excluded.mobile_masked, openid_sealed = excluded.openid_sealed,
    language = excluded.language, service_consent = excluded.service_consent,
    marketing_consent = excluded.marketing_consent, changed_at = excluded.changed_at,
    updated_at = now()
WHERE contacts.changed_at <= excluded.changed_at
"""


async def upsert_contacts(conn: asyncpg.Connection, rows: Sequence[ContactRow]) -> None:
    rows = sorted(rows, key=lambda r: r.member_id)
    columns = list(zip(*[(r.member_id, r.family_name, r.gender, r.birth_date, r.mobile_sealed,
                          r.mobile_masked, r.openid_sealed, r.language, r.service_consent,
                          r.marketing_consent, r.changed_at) for r in rows], strict=True))
    if columns:
        await conn.execute(_UPSERT_CONTACTS, *map(list, columns))


async def erase_members(conn: asyncpg.Connection, closed: dict[str, datetime],
                        now: datetime) -> None:
    """Delete every copy of the members' contact data: the projection, and the rendered
    texts (they hold the name); queued messages are cancelled."""
    members = sorted(closed)
    await conn.execute(
        "INSERT INTO closed_members (member_id, closed_at)"
        " SELECT * FROM unnest($1::text[], $2::timestamptz[]) ORDER BY 1 ON CONFLICT DO NOTHING",
        members, [closed[m] for m in members])
    await conn.execute("DELETE FROM contacts WHERE member_id = ANY($1::text[])", members)
    await conn.execute(
        "UPDATE messages SET body = NULL,"
        " state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,"
        " reason = CASE WHEN state = 'queued' THEN 'member_closed' ELSE reason END,"
        " finished_at = CASE WHEN state = 'queued' THEN $2 ELSE finished_at END"
        " WHERE member_id = ANY($1::text[])", members, now)


async def contacts_for(conn: asyncpg.Connection,
                       member_ids: Sequence[str]) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT member_id, family_name, gender, language, service_consent, marketing_consent"
        " FROM contacts WHERE member_id = ANY($1::text[])", list(member_ids))
    return {row["member_id"]: row for row in rows}


async def closed_among(conn: asyncpg.Connection, member_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch("SELECT member_id FROM closed_members"
                            " WHERE member_id = ANY($1::text[])", list(member_ids))
    return {row[0] for row in rows}


async def birthday_members(conn: asyncpg.Connection, today: date,
                           with_feb_29: bool) -> list[str]:
    """Members with marketing consent born on `today` (and on 29 February when
    `with_feb_29`), not yet greeted this year."""
    rows = await conn.fetch(
        "SELECT c.member_id FROM contacts c WHERE c.marketing_consent"
        " AND ((extract(month FROM c.birth_date) = $1 AND extract(day FROM c.birth_date) = $2)"
        "      OR ($3 AND extract(month FROM c.birth_date) = 2"
        "          AND extract(day FROM c.birth_date) = 29))"
        " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.template = 'birthday'"
        "                 AND m.cause_id = 'birthday:' || c.member_id || ':' || $4)"
        " ORDER BY c.member_id", today.month, today.day, with_feb_29, str(today.year))
    return [row[0] for row in rows]


async def sealed_after(conn: asyncpg.Connection, member_id: str,
                       limit: int) -> list[asyncpg.Record]:
    """The sealed values of the next `limit` contacts after `member_id`, locked."""
    return await conn.fetch(
        "SELECT member_id, mobile_sealed, openid_sealed FROM contacts WHERE member_id > $1"
        " ORDER BY member_id LIMIT $2 FOR UPDATE", member_id, limit)


async def replace_sealed(conn: asyncpg.Connection,
                         rows: Sequence[tuple[str, bytes, bytes | None]]) -> None:
    """(member_id, mobile_sealed, openid_sealed): the same values sealed anew."""
    if rows:
        members, mobiles, openids = map(list, zip(*rows, strict=True))
        await conn.execute(
            "UPDATE contacts c SET mobile_sealed = u.mobile, openid_sealed = u.openid"
            " FROM unnest($1::text[], $2::bytea[], $3::bytea[]) AS u (member_id, mobile, openid)"
            " WHERE c.member_id = u.member_id", members, mobiles, openids)
