"""Goodwill awards: requested, waiting for approval, decided (the audit), the year's totals
the limits are checked against, and the report by reason and approver."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ..domain.goodwill import YearSoFar

# Database-wide, so the key names the schema (tests run many side by side).
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.goodwill', 0))"


async def lock(conn: asyncpg.Connection) -> None:
    """Awards one at a time until the transaction ends: the yearly limits cover them all
    (few staff actions an hour; taken before any member's ledger lock)."""
    await conn.execute(_LOCK)


async def by_complaint(conn: asyncpg.Connection, reference: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM goodwill_awards WHERE complaint_reference = $1", reference)


async def locked(conn: asyncpg.Connection, award_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM goodwill_awards WHERE id = $1 FOR UPDATE",
                               award_id)


async def year_so_far(conn: asyncpg.Connection, year: int, member_id: str,
                      without: int | None = None) -> YearSoFar:
    """The year's awards, made or waiting (not `without`, the one being decided)."""
    row = await conn.fetchrow(
        "SELECT coalesce(sum(points) FILTER (WHERE member_id = $2), 0) AS member,"
        " coalesce(sum(points), 0) AS programme FROM goodwill_awards"
        " WHERE year = $1 AND status <> 'rejected' AND id IS DISTINCT FROM $3",
        year, member_id, without)
    return YearSoFar(member=row["member"], programme=row["programme"])


async def insert(conn: asyncpg.Connection, *, member_id: str, complaint_reference: str,
                 points: int, reason: str, note: str | None, year: int, requested_by: str,
                 at: datetime, needs_approval: bool) -> asyncpg.Record:
    """An award waiting for approval, or made at once (decided when requested)."""
    return await conn.fetchrow(
        "INSERT INTO goodwill_awards (member_id, complaint_reference, points, reason, note,"
        " year, requested_by, requested_at, needs_approval, status, decided_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
        " CASE WHEN $9 THEN 'pending' ELSE 'awarded' END,"
        " CASE WHEN $9 THEN NULL ELSE $8::timestamptz END)"
        " RETURNING *",
        member_id, complaint_reference, points, reason, note, year, requested_by, at,
        needs_approval)


async def decide(conn: asyncpg.Connection, award_id: int, status: str, decided_by: str,
                 at: datetime) -> asyncpg.Record:
    return await conn.fetchrow(
        "UPDATE goodwill_awards SET status = $2, decided_by = $3, decided_at = $4"
        " WHERE id = $1 RETURNING *", award_id, status, decided_by, at)


async def pending(pool: asyncpg.Pool, limit: int) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT * FROM goodwill_awards WHERE status = 'pending' ORDER BY id LIMIT $1", limit)


async def report(pool: asyncpg.Pool, year: int) -> list[asyncpg.Record]:
    """The year's awards made, by reason and approver (none: under the approval threshold),
    with how many and how many points; then those waiting, as status 'pending'."""
    return await pool.fetch(
        "SELECT status, reason, decided_by AS approver, count(*) AS awards,"
        " sum(points) AS points FROM goodwill_awards"
        " WHERE year = $1 AND status <> 'rejected'"
        " GROUP BY status, reason, decided_by ORDER BY status, reason, decided_by NULLS FIRST",
        year)
