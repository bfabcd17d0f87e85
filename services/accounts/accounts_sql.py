"""All the accounts service's SQL. Consumer calls handle a whole batch: one statement (or
COPY) per table, rows sorted by member so concurrent transactions lock in the same order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import asyncpg

from .domain.members import Member, Profile
from .domain.tiers import Override, TierChange, TierState

# ---------------------------------------------------------------------- locking


async def lock_members(conn: asyncpg.Connection, member_ids: Sequence[str]) -> None:
    """Serialise work on the same members across the customer and snapshot consumers and
    the staff API (a snapshot and the enrolment it must see may be processed at the same
    moment). Transaction-scoped advisory locks, taken in member order: no deadlock."""
    await conn.execute(
        "SELECT count(pg_advisory_xact_lock(hashtextextended('accounts.member:' || m, 0)))"
        " FROM (SELECT DISTINCT m FROM unnest($1::text[]) AS m ORDER BY m) AS ordered",
        sorted(set(member_ids)))


# ---------------------------------------------------------------------- members


async def members(conn: asyncpg.Connection, member_ids: Sequence[str]) -> dict[str, Member]:
    rows = await conn.fetch(
        "SELECT * FROM members WHERE member_id = ANY($1::text[])", list(member_ids))
    return {row["member_id"]: _member(row) for row in rows}


def _member(row: asyncpg.Record) -> Member:
    profile = None
    if row["status"] == "active":
        profile = Profile(
            family_name=row["family_name"], given_name=row["given_name"], gender=row["gender"],
            birth_date=row["birth_date"], preferred_language=row["preferred_language"],
            mobile_hash=bytes(row["mobile_hash"]),
            openid_hash=bytes(row["openid_hash"]) if row["openid_hash"] else None,
            service_messages=row["service_messages"], marketing=row["marketing"])
    return Member(row["member_id"], row["status"], profile, row["profile_at"])


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A member as written: the profile plus the contact ciphertexts (None when closed)."""

    member: Member
    mobile_enc: bytes | None
    openid_enc: bytes | None
    enrolled_at: datetime | None
    closed_at: datetime | None


_SAVE_MEMBERS = """
INSERT INTO members (member_id, status, family_name, given_name, gender, birth_date,
                     preferred_language, mobile_enc, mobile_hash, openid_enc, openid_hash,
                     service_messages, marketing, enrolled_at, profile_at, closed_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::date[],
                     $7::text[], $8::bytea[], $9::bytea[], $10::bytea[], $11::bytea[],
                     $12::boolean[], $13::boolean[], $14::timestamptz[], $15::timestamptz[],
                     $16::timestamptz[])
ON CONFLICT (member_id) DO UPDATE SET
    status = excluded.status, family_name = excluded.family_name,
    given_name = excluded.given_name, gender = excluded.gender,
    birth_date = excluded.birth_date, preferred_language = excluded.preferred_language,
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
    columns: list[list] = [[] for _ in range(16)]
    for r in rows:
        m, p = r.member, r.member.profile
        values = (
            m.member_id, m.status,
            p and p.family_name, p and p.given_name, p and p.gender, p and p.birth_date,
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


async def record_consent_changes(conn: asyncpg.Connection,
                                 changes: Sequence[ConsentChange]) -> None:
    if changes:
        await conn.copy_records_to_table(
            "consent_changes",
            columns=("member_id", "consent", "granted", "changed_at", "source", "event_id"),
            records=[(c.member_id, c.consent, c.granted, c.changed_at, c.source, c.event_id)
                     for c in sorted(changes, key=lambda c: c.member_id)])


async def member_ids_by_mobile_hash(conn: asyncpg.Connection, mobile_hash: bytes) -> list[str]:
    rows = await conn.fetch(
        "SELECT member_id FROM members WHERE mobile_hash = $1 ORDER BY member_id", mobile_hash)
    return [row[0] for row in rows]


async def member_profile(conn: asyncpg.Connection, member_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM members WHERE member_id = $1", member_id)


# ---------------------------------------------------------------------- asset snapshots


@dataclass(frozen=True, slots=True)
class Snapshot:
    member_id: str
    month: str
    assets: Decimal
    taken_at: datetime
    event_id: str


async def insert_snapshots(conn: asyncpg.Connection,
                           snapshots: Sequence[Snapshot]) -> set[tuple[str, str]]:
    """Keep the first delivery of each member's month; returns the (member, month) pairs
    that are new."""
    snapshots = sorted(snapshots, key=lambda s: (s.member_id, s.month))
    rows = await conn.fetch(
        "INSERT INTO asset_snapshots (member_id, month, average_daily_assets, taken_at, event_id)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::timestamptz[],"
        "                      $5::text[])"
        " ON CONFLICT (member_id, month) DO NOTHING RETURNING member_id, month",
        [s.member_id for s in snapshots], [s.month for s in snapshots],
        [s.assets for s in snapshots], [s.taken_at for s in snapshots],
        [s.event_id for s in snapshots])
    return {(row["member_id"], row["month"]) for row in rows}


async def asset_histories(conn: asyncpg.Connection, member_ids: Sequence[str],
                          since_month: str | None = None) -> dict[str, dict[str, Decimal]]:
    """Each member's assets by month (from `since_month` on, if given)."""
    rows = await conn.fetch(
        "SELECT member_id, month, average_daily_assets FROM asset_snapshots"
        " WHERE member_id = ANY($1::text[]) AND month >= coalesce($2, '')",
        list(member_ids), since_month)
    histories: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        histories[row["member_id"]][row["month"]] = row["average_daily_assets"]
    return histories


async def latest_snapshot(conn: asyncpg.Connection, member_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT month, average_daily_assets FROM asset_snapshots WHERE member_id = $1"
        " ORDER BY month DESC LIMIT 1", member_id)


# ---------------------------------------------------------------------- tier status


async def tier_states(conn: asyncpg.Connection, member_ids: Sequence[str],
                      ) -> dict[str, TierState]:
    """Tier status of the given members that are active (closed members' tiers are frozen)."""
    rows = await conn.fetch(
        "SELECT t.* FROM member_tiers t JOIN members m USING (member_id)"
        " WHERE t.member_id = ANY($1::text[]) AND m.status = 'active'", list(member_ids))
    return {row["member_id"]: _tier_state(row) for row in rows}


def _tier_state(row: asyncpg.Record) -> TierState:
    override = None
    if row["override_id"] is not None:
        override = Override(row["override_id"], row["override_tier"], row["override_until"])
    return TierState(tier=row["tier"], since=row["effective_date"], asset_tier=row["asset_tier"],
                     asset_tier_month=row["asset_tier_month"], latest_month=row["latest_month"],
                     override=override)


_SAVE_TIER_STATES = """
INSERT INTO member_tiers (member_id, tier, effective_date, asset_tier, asset_tier_month,
                          latest_month, override_id, override_tier, override_until)
SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::text[], $6::text[],
                     $7::bigint[], $8::text[], $9::date[])
ON CONFLICT (member_id) DO UPDATE SET
    tier = excluded.tier, effective_date = excluded.effective_date,
    asset_tier = excluded.asset_tier, asset_tier_month = excluded.asset_tier_month,
    latest_month = excluded.latest_month, override_id = excluded.override_id,
    override_tier = excluded.override_tier, override_until = excluded.override_until,
    updated_at = now()
"""


async def save_tier_states(conn: asyncpg.Connection,
                           states: dict[str, TierState]) -> None:
    if not states:
        return
    ids = sorted(states)
    rows = [states[m] for m in ids]
    await conn.execute(
        _SAVE_TIER_STATES, ids, [s.tier for s in rows], [s.since for s in rows],
        [s.asset_tier for s in rows], [s.asset_tier_month for s in rows],
        [s.latest_month for s in rows], [s.override and s.override.id for s in rows],
        [s.override and s.override.tier for s in rows],
        [s.override and s.override.until for s in rows])


@dataclass(frozen=True, slots=True)
class RecordedChange:
    member_id: str
    change: TierChange
    changed_at: datetime
    event_id: str


async def record_tier_changes(conn: asyncpg.Connection,
                              changes: Sequence[RecordedChange]) -> None:
    if changes:
        await conn.copy_records_to_table(
            "tier_history",
            columns=("member_id", "old_tier", "new_tier", "reason", "effective_date",
                     "assets_month", "override_id", "changed_at", "event_id"),
            records=[(r.member_id, r.change.old_tier, r.change.new_tier, r.change.reason,
                      r.change.effective_date, r.change.assets_month, r.change.override_id,
                      r.changed_at, r.event_id)
                     for r in sorted(changes, key=lambda r: r.member_id)])


async def tier_row(conn: asyncpg.Connection, member_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT t.*, m.status, o.reason AS override_reason, o.staff_id AS override_staff_id"
        " FROM member_tiers t JOIN members m USING (member_id)"
        " LEFT JOIN tier_overrides o ON o.id = t.override_id WHERE t.member_id = $1", member_id)


async def tier_history(conn: asyncpg.Connection, member_id: str,
                       limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT h.*, o.staff_id, o.reason AS override_reason FROM tier_history h"
        " LEFT JOIN tier_overrides o ON o.id = h.override_id"
        " WHERE h.member_id = $1 ORDER BY h.id DESC LIMIT $2", member_id, limit)


# ---------------------------------------------------------------------- overrides


async def insert_override(conn: asyncpg.Connection, member_id: str, tier: str, until: date,
                          reason: str, staff_id: str) -> int:
    return await conn.fetchval(
        "INSERT INTO tier_overrides (member_id, tier, until, reason, staff_id)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id", member_id, tier, until, reason, staff_id)


async def end_overrides(conn: asyncpg.Connection, override_ids: Sequence[int], end_reason: str,
                        ended_by: str | None = None) -> None:
    await conn.execute(
        "UPDATE tier_overrides SET ended_at = now(), end_reason = $2, ended_by = $3"
        " WHERE id = ANY($1::bigint[]) AND ended_at IS NULL",
        sorted(override_ids), end_reason, ended_by)


async def members_with_ended_overrides(conn: asyncpg.Connection, today: date,
                                       limit: int) -> list[str]:
    """Members whose override's last day is before `today`; rows another instance is
    working on are skipped."""
    rows = await conn.fetch(
        "SELECT member_id FROM member_tiers WHERE override_until < $1"
        " ORDER BY member_id LIMIT $2 FOR UPDATE SKIP LOCKED", today, limit)
    return [row[0] for row in rows]


async def drop_overrides_of_closed(conn: asyncpg.Connection, member_ids: Sequence[str]) -> None:
    """A closed member's tier is frozen; an override still running ends with the membership."""
    ids = sorted(member_ids)
    await conn.execute(
        "UPDATE tier_overrides SET ended_at = now(), end_reason = 'member_closed'"
        " WHERE member_id = ANY($1::text[]) AND ended_at IS NULL", ids)
    await conn.execute(
        "UPDATE member_tiers SET override_id = NULL, override_tier = NULL,"
        " override_until = NULL, updated_at = now()"
        " WHERE member_id = ANY($1::text[]) AND override_id IS NOT NULL", ids)
