"""The contact projection (`contacts`) and the members whose contact data is gone
(`closed_members`); a closure also clears what the message log holds of them. Every
personal value is sealed (personal.py); rows of before migration 0003 keep family name,
gender and birth date in plaintext columns until `sealed_after`/`replace_sealed` seal them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from ..personal import month_day


@dataclass(frozen=True, slots=True)
class ContactRow:
    member_id: str
    personal_sealed: bytes
    birthday_mmdd: int
    mobile_sealed: bytes
    mobile_masked: str
    openid_sealed: bytes | None
    language: str
    service_consent: bool
    marketing_consent: bool
    changed_at: datetime
    mobile_hash: bytes
    openid_hash: bytes | None


# A stop reply received after the record was made stands: the record's marketing consent
# is older news (accounts' record of the withdrawal follows).
_UPSERT_CONTACTS = """
INSERT INTO contacts (member_id, personal_sealed, birthday_mmdd, mobile_sealed, mobile_masked,
                      openid_sealed, language, service_consent, marketing_consent, changed_at,
                      mobile_hash, openid_hash)
SELECT c.member_id, c.personal_sealed, c.birthday_mmdd, c.mobile_sealed, c.mobile_masked,
       c.openid_sealed, c.language, c.service_consent,
       c.marketing_consent AND NOT EXISTS (
           SELECT 1 FROM opt_outs o
           WHERE o.member_id = c.member_id AND o.received_at > c.changed_at),
       c.changed_at, c.mobile_hash, c.openid_hash
FROM unnest($1::text[], $2::bytea[], $3::smallint[], $4::bytea[], $5::text[],
            $6::bytea[], $7::text[], $8::boolean[], $9::boolean[],
            $10::timestamptz[], $11::bytea[], $12::bytea[])
     AS c (member_id, personal_sealed, birthday_mmdd, mobile_sealed, mobile_masked,
           openid_sealed, language, service_consent, marketing_consent, changed_at,
           mobile_hash, openid_hash)
WHERE NOT EXISTS (SELECT 1 FROM closed_members x WHERE x.member_id = c.member_id)
ORDER BY 1
ON CONFLICT (member_id) DO UPDATE SET
    personal_sealed = excluded.personal_sealed, birthday_mmdd = excluded.birthday_mmdd,
    family_name = NULL, gender = NULL, birth_date = NULL,
    mobile_sealed = excluded.mobile_sealed, mobile_masked = excluded.mobile_masked,
    openid_sealed = excluded.openid_sealed, language = excluded.language,
    service_consent = excluded.service_consent, marketing_consent = excluded.marketing_consent,
    changed_at = excluded.changed_at, mobile_hash = excluded.mobile_hash,
    openid_hash = excluded.openid_hash, updated_at = now()
WHERE contacts.changed_at <= excluded.changed_at
"""


async def upsert_contacts(conn: asyncpg.Connection, rows: Sequence[ContactRow]) -> None:
    rows = sorted(rows, key=lambda r: r.member_id)
    columns = list(zip(*[(r.member_id, r.personal_sealed, r.birthday_mmdd, r.mobile_sealed,
                          r.mobile_masked, r.openid_sealed, r.language, r.service_consent,
                          r.marketing_consent, r.changed_at, r.mobile_hash, r.openid_hash)
                         for r in rows], strict=True))
    if columns:
        await conn.execute(_UPSERT_CONTACTS, *map(list, columns))


async def erase_members(conn: asyncpg.Connection, closed: dict[str, datetime],
                        now: datetime) -> None:
    """Delete every copy of the members' contact data: the projection, the enrolment day
    (care days), and the rendered texts (they hold the name); queued messages are
    cancelled."""
    members = sorted(closed)
    await conn.execute(
        "INSERT INTO closed_members (member_id, closed_at)"
        " SELECT * FROM unnest($1::text[], $2::timestamptz[]) ORDER BY 1 ON CONFLICT DO NOTHING",
        members, [closed[m] for m in members])
    await conn.execute("DELETE FROM contacts WHERE member_id = ANY($1::text[])", members)
    await conn.execute("DELETE FROM memberships WHERE member_id = ANY($1::text[])", members)
    await conn.execute(
        "UPDATE messages SET body = NULL,"
        " state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,"
        " reason = CASE WHEN state = 'queued' THEN 'member_closed' ELSE reason END,"
        " finished_at = CASE WHEN state = 'queued' THEN $2 ELSE finished_at END"
        " WHERE member_id = ANY($1::text[])", members, now)


async def contacts_for(conn: asyncpg.Connection,
                       member_ids: Sequence[str]) -> dict[str, asyncpg.Record]:
    """Their contact data; family name and gender only sealed (`personal_sealed`)."""
    rows = await conn.fetch(
        "SELECT member_id, personal_sealed, language, service_consent, marketing_consent"
        " FROM contacts WHERE member_id = ANY($1::text[])", list(member_ids))
    return {row["member_id"]: row for row in rows}


async def closed_among(conn: asyncpg.Connection, member_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch("SELECT member_id FROM closed_members"
                            " WHERE member_id = ANY($1::text[])", list(member_ids))
    return {row[0] for row in rows}


async def birthday_members(conn: asyncpg.Connection, today: date,
                           with_feb_29: bool) -> list[str]:
    """Members with marketing consent born on `today`'s month and day (and on 29 February
    when `with_feb_29`), not yet greeted this year."""
    days = [month_day(today), *([229] if with_feb_29 else [])]
    rows = await conn.fetch(
        "SELECT c.member_id FROM contacts c WHERE c.marketing_consent"
        " AND c.birthday_mmdd = ANY($1::smallint[])"
        " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.template = 'birthday'"
        "                 AND m.cause_id = 'birthday:' || c.member_id || ':' || $2)"
        " ORDER BY c.member_id", days, str(today.year))
    return [row[0] for row in rows]


async def sealed_after(conn: asyncpg.Connection, member_id: str, limit: int, *,
                       plaintext_only: bool = False) -> list[asyncpg.Record]:
    """The sealed values of the next `limit` contacts after `member_id`, and the plaintext
    of before migration 0003 (`plaintext_only`: only contacts still having it), locked
    until the transaction ends."""
    return await conn.fetch(
        "SELECT member_id, personal_sealed, mobile_sealed, openid_sealed,"
        "       family_name, gender, birth_date"
        " FROM contacts WHERE member_id > $1 AND (NOT $3 OR family_name IS NOT NULL)"
        " ORDER BY member_id LIMIT $2 FOR UPDATE", member_id, limit, plaintext_only)


async def replace_sealed(conn: asyncpg.Connection,
                         rows: Sequence[tuple[str, bytes, bytes, bytes | None]]) -> None:
    """(member_id, personal_sealed, mobile_sealed, openid_sealed): the same values sealed
    anew; the plaintext goes."""
    if rows:
        await conn.execute(
            "UPDATE contacts c SET personal_sealed = u.personal, mobile_sealed = u.mobile,"
            " openid_sealed = u.openid, family_name = NULL, gender = NULL, birth_date = NULL"
            " FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::bytea[])"
            "   AS u (member_id, personal, mobile, openid)"
            " WHERE c.member_id = u.member_id",
            *(list(column) for column in zip(*rows, strict=True)))
