"""Salons, their audit and their guests (migration 0009). Seats are counted on the salon's
row: `take_seat` is a guarded UPDATE, so concurrent acceptances never pass the capacity
(the row's lock orders them; the CHECK stands behind it)."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from ..domain.salons import Salon, as_json

_COLUMNS = ("id, title, title_en, category, city, venue, starts_at, capacity, eligible_tiers,"
            " invite_from, invite_until, rsvp_from, rsvp_until, status, version, accepted,"
            " reminded")


def _salon(row: asyncpg.Record) -> Salon:
    return Salon(**{**dict(row), "eligible_tiers": tuple(row["eligible_tiers"])})


async def salon(conn: asyncpg.Connection | asyncpg.Pool, salon_id: str, *,
                lock: bool = False) -> Salon | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM salons WHERE id = $1"
                              + (" FOR UPDATE" if lock else ""), salon_id)
    return None if row is None else _salon(row)


async def save(conn: asyncpg.Connection, after: Salon, before: Salon | None, change: str,
               staff_id: str, reason: str | None, now: datetime) -> None:
    """The salon as staff left it, and its audit row."""
    await conn.execute(
        "INSERT INTO salons (id, title, title_en, category, city, venue, starts_at, capacity,"
        " eligible_tiers, invite_from, invite_until, rsvp_from, rsvp_until, status, version,"
        " created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)"
        " ON CONFLICT (id) DO UPDATE SET title = $2, title_en = $3, category = $4, city = $5,"
        " venue = $6, starts_at = $7, capacity = $8, eligible_tiers = $9, invite_from = $10,"
        " invite_until = $11, rsvp_from = $12, rsvp_until = $13, status = $14, version = $15,"
        " updated_at = $16",
        after.id, after.title, after.title_en, after.category, after.city, after.venue,
        after.starts_at, after.capacity, list(after.eligible_tiers), after.invite_from,
        after.invite_until, after.rsvp_from, after.rsvp_until, after.status, after.version,
        now)
    await conn.execute(
        "INSERT INTO salon_changes (salon_id, version, change, after, before, staff_id,"
        " reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        after.id, after.version, change, json.dumps(as_json(after)),
        before and json.dumps(as_json(before)), staff_id, reason, now)


async def changes(conn: asyncpg.Pool, salon_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT version, change, after, before, staff_id, reason, at FROM salon_changes"
        " WHERE salon_id = $1 ORDER BY version", salon_id)


async def inviting(conn: asyncpg.Connection, now: datetime) -> list[Salon]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM salons WHERE status = 'scheduled' AND invite_from <= $1"
        " AND invite_until > $1 ORDER BY id", now)
    return [_salon(r) for r in rows]


async def invite(conn: asyncpg.Connection, salon: Salon, now: datetime,
                 limit: int) -> list[str]:
    """Guests added: eligible members (by tier, not closed) not invited before."""
    rows = await conn.fetch(
        "INSERT INTO salon_guests (salon_id, member_id, status, invited_at, changed_at)"
        " SELECT $1, m.member_id, 'invited', $3, $3 FROM members m"
        " WHERE m.tier = ANY($2::text[]) AND NOT coalesce(m.closed, false)"
        " AND NOT EXISTS (SELECT 1 FROM salon_guests g"
        "                 WHERE g.salon_id = $1 AND g.member_id = m.member_id)"
        " ORDER BY m.member_id LIMIT $4"
        " ON CONFLICT DO NOTHING RETURNING member_id",
        salon.id, list(salon.eligible_tiers), now, limit)
    return [r["member_id"] for r in rows]


async def to_remind(conn: asyncpg.Connection, now: datetime) -> list[Salon]:
    """Salons starting within a day not reminded yet, locked (one job reminds each)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM salons WHERE status = 'scheduled' AND NOT reminded"
        " AND starts_at > $1 AND starts_at <= $1 + interval '1 day'"
        " ORDER BY id FOR UPDATE SKIP LOCKED", now)
    return [_salon(r) for r in rows]


async def mark_reminded(conn: asyncpg.Connection, salon_id: str) -> None:
    await conn.execute("UPDATE salons SET reminded = true WHERE id = $1", salon_id)


async def guests(conn: asyncpg.Connection, salon_id: str,
                 statuses: tuple[str, ...]) -> list[str]:
    rows = await conn.fetch(
        "SELECT member_id FROM salon_guests WHERE salon_id = $1 AND status = ANY($2::text[])"
        " ORDER BY member_id", salon_id, list(statuses))
    return [r["member_id"] for r in rows]


async def guest(conn: asyncpg.Connection | asyncpg.Pool, salon_id: str, member_id: str, *,
                lock: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT status, waiting_since, check_in_code, checked_in_at FROM salon_guests"
        " WHERE salon_id = $1 AND member_id = $2" + (" FOR UPDATE" if lock else ""),
        salon_id, member_id)


async def take_seat(conn: asyncpg.Connection, salon_id: str) -> bool:
    """A seat, if one is left (the guarded UPDATE: never past capacity)."""
    return await conn.fetchval(
        "UPDATE salons SET accepted = accepted + 1 WHERE id = $1 AND accepted < capacity"
        " RETURNING true", salon_id) is not None


async def free_seat(conn: asyncpg.Connection, salon_id: str) -> None:
    await conn.execute("UPDATE salons SET accepted = accepted - 1 WHERE id = $1", salon_id)


async def first_waiting(conn: asyncpg.Connection, salon_id: str) -> str | None:
    """The first on the waitlist, locked. A row changed while we waited for its lock no
    longer matches and LIMIT then yields nothing: look again while anyone waits."""
    while True:
        found = await conn.fetchval(
            "SELECT member_id FROM salon_guests WHERE salon_id = $1 AND status = 'waitlisted'"
            " ORDER BY waiting_since LIMIT 1 FOR UPDATE", salon_id)
        if found is not None or not await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM salon_guests WHERE salon_id = $1"
                " AND status = 'waitlisted')", salon_id):
            return found


async def place(conn: asyncpg.Connection, salon_id: str, member_id: str, status: str,
                now: datetime, code: str | None = None) -> None:
    """A guest's new place: a seat has a code; the waitlist's order is taken on joining."""
    await conn.execute(
        "UPDATE salon_guests SET status = $3, check_in_code = $4, changed_at = $5,"
        " waiting_since = CASE WHEN $3 = 'waitlisted' THEN nextval('salon_waitlist') END"
        " WHERE salon_id = $1 AND member_id = $2", salon_id, member_id, status, code, now)


async def check_in(conn: asyncpg.Connection, salon_id: str, code: str,
                   now: datetime) -> asyncpg.Record | None:
    """The guest whose code it is, checked in now; None: no such code, or used already
    (`code_state` tells which)."""
    return await conn.fetchrow(
        "UPDATE salon_guests SET checked_in_at = $3 WHERE salon_id = $1"
        " AND check_in_code = $2 AND status = 'accepted' AND checked_in_at IS NULL"
        " RETURNING member_id", salon_id, code, now)


async def code_used(conn: asyncpg.Connection, salon_id: str, code: str) -> bool:
    return await conn.fetchval(
        "SELECT checked_in_at IS NOT NULL FROM salon_guests WHERE salon_id = $1"
        " AND check_in_code = $2", salon_id, code) or False


async def of_member(conn: asyncpg.Pool, member_id: str, tier: str | None,
                    now: datetime) -> list[asyncpg.Record]:
    """Salons the member may join (their tier, answers taken now) and those they were
    invited to, with their place."""
    return await conn.fetch(
        f"SELECT {', '.join('s.' + c.strip() for c in _COLUMNS.split(','))},"
        " g.status AS guest_status, g.check_in_code, g.checked_in_at"
        " FROM salons s LEFT JOIN salon_guests g ON g.salon_id = s.id AND g.member_id = $1"
        " WHERE s.status = 'scheduled' AND s.rsvp_from <= $3 AND s.rsvp_until > $3"
        " AND (g.member_id IS NOT NULL OR $2 = ANY(s.eligible_tiers))"
        " ORDER BY s.starts_at, s.id", member_id, tier, now)


async def add_guest(conn: asyncpg.Connection, salon_id: str, member_id: str,
                    now: datetime) -> None:
    """An eligible member who answers without an invitation (e.g. enrolled since)."""
    await conn.execute(
        "INSERT INTO salon_guests (salon_id, member_id, status, invited_at, changed_at)"
        " VALUES ($1, $2, 'invited', $3, $3) ON CONFLICT DO NOTHING",
        salon_id, member_id, now)
