"""Members and their personal data (sealed, found by keyed hash: personal.py), consents,
and the lock that serialises work on a member."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from runtime.personal_data import Sealer

from ..domain.members import Member, Profile
from ..personal import open_personal


async def lock_members(conn: asyncpg.Connection, member_ids: Sequence[str]) -> None:
    """Serialise work on the same members across the customer and snapshot consumers and
    the staff API (a snapshot and the enrolment it must see may be processed at the same
    moment). Transaction-scoped advisory locks, taken in member order: no deadlock."""
    await conn.execute(
        "SELECT count(pg_advisory_xact_lock(hashtextextended('accounts.member:' || m, 0)))"
        " FROM (SELECT DISTINCT m FROM unnest($1::text[]) AS m ORDER BY m) AS ordered",
        sorted(set(member_ids)))


async def members(conn: asyncpg.Connection, member_ids: Sequence[str],
                  sealer: Sealer) -> dict[str, Member]:
    rows = await conn.fetch(
        "SELECT * FROM members WHERE member_id = ANY($1::text[])", list(member_ids))
    return {row["member_id"]: _member(row, sealer) for row in rows}


def _member(row: asyncpg.Record, sealer: Sealer) -> Member:
    profile = None
    if row["status"] == "active":
        personal = open_personal(sealer, row["member_id"], row)
        profile = Profile(
            family_name=personal.family_name, given_name=personal.given_name,
            gender=personal.gender, birth_date=personal.birth_date,
            preferred_language=row["preferred_language"],
            mobile_hash=bytes(row["mobile_hash"]),
            openid_hash=bytes(row["openid_hash"]) if row["openid_hash"] else None,
            service_messages=row["service_messages"], marketing=row["marketing"])
    return Member(row["member_id"], row["status"], profile, row["profile_at"],
                  row["marketing_withdrawn_at"])


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A member as written: the profile, its personal fields only as ciphertexts (None
    when closed)."""

    member: Member
    personal_enc: bytes | None
    mobile_enc: bytes | None
    openid_enc: bytes | None
    enrolled_at: datetime | None
    closed_at: datetime | None


_SAVE_MEMBERS = """
INSERT INTO members (member_id, status, personal_enc,
                     preferred_language, mobile_enc, mobile_hash, openid_enc, openid_hash,
                     service_messages, marketing, enrolled_at, profile_at, closed_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[],
                     $4::text[], $5::bytea[], $6::bytea[], $7::bytea[], $8::bytea[],
                     $9::boolean[], $10::boolean[], $11::timestamptz[], $12::timestamptz[],
                     $13::timestamptz[])
ON CONFLICT (member_id) DO UPDATE SET
    status = excluded.status, personal_enc = excluded.personal_enc,
    family_name = NULL, given_name = NULL, gender = NULL, birth_date = NULL,  -- before 0005
    preferred_language = excluded.preferred_language,
    mobile_enc = excluded.mobile_enc, mobile_hash = excluded.mobile_hash,
    openid_enc = excluded.openid_enc, openid_hash = excluded.openid_hash,
    service_messages = excluded.service_messages, marketing = excluded.marketing,
    enrolled_at = coalesce(members.enrolled_at, excluded.enrolled_at),
    profile_at = excluded.profile_at, closed_at = excluded.closed_at, updated_at = now()
"""


async def save_members(conn: asyncpg.Connection, rows: Sequence[MemberRow]) -> None:
    """Upsert the final state of each member; closed members lose every contact field."""
    rows = sorted(rows, key=lambda r: r.member.member_id)
    if not rows:
        return
    columns: list[list] = [[] for _ in range(13)]
    for r in rows:
        m, p = r.member, r.member.profile
        values = (
            m.member_id, m.status, r.personal_enc,
            p and p.preferred_language, r.mobile_enc, p and p.mobile_hash, r.openid_enc,
            p and p.openid_hash, p and p.service_messages, p and p.marketing,
            r.enrolled_at, m.profile_at, r.closed_at)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    await conn.execute(_SAVE_MEMBERS, *columns)


@dataclass(frozen=True, slots=True)
class ConsentChange:
    member_id: str
    consent: str
    granted: bool
    changed_at: datetime
    source: str
    event_id: str
    #: How the member changed it when not through core banking (e.g. sms_reply).
    via: str | None = None


async def record_consent_changes(conn: asyncpg.Connection,
                                 changes: Sequence[ConsentChange]) -> None:
    if changes:
        await conn.copy_records_to_table(
            "consent_changes",
            columns=("member_id", "consent", "granted", "changed_at", "source", "event_id",
                     "via"),
            records=[(c.member_id, c.consent, c.granted, c.changed_at, c.source, c.event_id,
                      c.via) for c in sorted(changes, key=lambda c: c.member_id)])


async def withdraw_marketing(conn: asyncpg.Connection, withdrawn: dict[str, datetime]) -> None:
    """Members who withdrew the marketing consent by a reply, and when (the first time)."""
    if withdrawn:
        members = sorted(withdrawn)
        await conn.execute(
            "UPDATE members m SET marketing = false, updated_at = now(),"
            " marketing_withdrawn_at = coalesce(m.marketing_withdrawn_at, w.at)"
            " FROM unnest($1::text[], $2::timestamptz[]) AS w (member_id, at)"
            " WHERE m.member_id = w.member_id AND m.status = 'active'",
            members, [withdrawn[m] for m in members])


async def enrolments(conn: asyncpg.Connection, member_ids: Sequence[str], *,
                     closed: bool = False) -> dict[str, datetime]:
    """When each of the members that are active (and with `closed`, those closed too)
    enrolled."""
    rows = await conn.fetch(
        "SELECT member_id, enrolled_at FROM members"
        " WHERE member_id = ANY($1::text[]) AND enrolled_at IS NOT NULL"
        " AND (status = 'active' OR $2)", list(member_ids), closed)
    return {row[0]: row[1] for row in rows}


async def member_ids_by_mobile_hash(conn: asyncpg.Connection, mobile_hash: bytes) -> list[str]:
    rows = await conn.fetch(
        "SELECT member_id FROM members WHERE mobile_hash = $1 ORDER BY member_id", mobile_hash)
    return [row[0] for row in rows]


async def member_profile(conn: asyncpg.Connection, member_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM members WHERE member_id = $1", member_id)


async def sealed_after(conn: asyncpg.Connection, after: str, limit: int, *,
                       plaintext_only: bool = False) -> list[asyncpg.Record]:
    """The next `limit` active members after `after` with their sealed values, and the
    plaintext of before migration 0005 (`plaintext_only`: only members still having it),
    locked until the transaction ends."""
    return await conn.fetch(
        "SELECT member_id, personal_enc, mobile_enc, openid_enc,"
        "       family_name, given_name, gender, birth_date"
        " FROM members WHERE status = 'active' AND member_id > $1"
        " AND (NOT $3 OR family_name IS NOT NULL)"
        " ORDER BY member_id LIMIT $2 FOR UPDATE", after, limit, plaintext_only)


async def replace_sealed(conn: asyncpg.Connection,
                         rows: Sequence[tuple[str, bytes, bytes, bytes | None]]) -> None:
    """(member id, personal, mobile, openid) sealed anew; the plaintext goes."""
    if rows:
        await conn.execute(
            "UPDATE members m SET personal_enc = r.personal, mobile_enc = r.mobile,"
            " openid_enc = r.openid, family_name = NULL, given_name = NULL, gender = NULL,"
            " birth_date = NULL, updated_at = now()"
            " FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::bytea[])"
            "   AS r (member_id, personal, mobile, openid)"
            " WHERE m.member_id = r.member_id",
            *(list(column) for column in zip(*rows, strict=True)))


async def active_after(conn: asyncpg.Connection, after: str, limit: int) -> list[str]:
    """The next `limit` active members after `after`, in member order (reviews, preview)."""
    rows = await conn.fetch(
        "SELECT member_id FROM members WHERE status = 'active' AND enrolled_at IS NOT NULL"
        " AND member_id > $1 ORDER BY member_id LIMIT $2", after, limit)
    return [row[0] for row in rows]
