"""Who is greeted on a care day (domain/care_days.py): members with marketing consent not
greeted this year yet (a greeting's cause is `<template>:<member>:<year>`), the enrolment
days anniversaries come from (`memberships`), and each festival's passes over the members
(`care_days_done`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import asyncpg

from ..personal import month_day

_NOT_GREETED = (
    "NOT EXISTS (SELECT 1 FROM messages m WHERE m.template = $1"
    " AND m.cause_id = $1 || ':' || c.member_id || ':' || $2)")


async def record_enrolments(conn: asyncpg.Connection,
                            enrolments: Sequence[tuple[str, date]]) -> None:
    """(member_id, local day enrolled); the first one kept, none for closed members."""
    rows = sorted(enrolments)
    if rows:
        await conn.execute(
            "INSERT INTO memberships (member_id, enrolled_on, anniversary_mmdd)"
            " SELECT * FROM unnest($1::text[], $2::date[], $3::smallint[]) AS e (m, d, k)"
            " WHERE NOT EXISTS (SELECT 1 FROM closed_members x WHERE x.member_id = e.m)"
            " ORDER BY 1 ON CONFLICT (member_id) DO NOTHING",
            [m for m, _ in rows], [d for _, d in rows], [month_day(d) for _, d in rows])


async def festival_members(conn: asyncpg.Connection, festival: str, year: int,
                           since: datetime | None, after: str,
                           limit: int) -> list[asyncpg.Record]:
    """The next `limit` members after `after` with marketing consent, their contact changed
    since `since` (None: any), not greeted for the festival this year, with their sealed
    personal data (the Double Ninth's age)."""
    return await conn.fetch(
        "SELECT c.member_id, c.personal_sealed FROM contacts c"
        " WHERE c.marketing_consent AND c.member_id > $3"
        f" AND ($5::timestamptz IS NULL OR c.updated_at >= $5) AND {_NOT_GREETED}"
        " ORDER BY c.member_id LIMIT $4", festival, str(year), after, limit, since)


async def anniversary_members(conn: asyncpg.Connection, template: str, today: date,
                              days: Sequence[int]) -> list[asyncpg.Record]:
    """Members with marketing consent who enrolled on one of `days` (month * 100 + day) in
    a year before `today`'s, not greeted this year yet."""
    return await conn.fetch(
        "SELECT c.member_id, s.enrolled_on FROM memberships s"
        " JOIN contacts c ON c.member_id = s.member_id"
        " WHERE c.marketing_consent AND s.anniversary_mmdd = ANY($3::smallint[])"
        f" AND s.enrolled_on < $4 AND {_NOT_GREETED} ORDER BY c.member_id",
        template, str(today.year), list(days), date(today.year, 1, 1))


async def festival_pass(conn: asyncpg.Connection, festival: str,
                        day: date) -> tuple[datetime, datetime | None]:
    """(the database's now: this pass's start, when the day's last pass began or None)."""
    row = await conn.fetchrow(
        "SELECT now() AS started, (SELECT scanned_from FROM care_days_done"
        "                          WHERE occasion = $1 AND day = $2) AS since", festival, day)
    return row["started"], row["since"]


async def festival_passed(conn: asyncpg.Connection, festival: str, day: date,
                          started: datetime) -> None:
    await conn.execute(
        "INSERT INTO care_days_done (occasion, day, scanned_from) VALUES ($1, $2, $3)"
        " ON CONFLICT (occasion, day) DO UPDATE SET scanned_from = excluded.scanned_from",
        festival, day, started)
