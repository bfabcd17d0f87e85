"""Tier reviews run (migration 0006): the claim of a review, its progress through the
members, and the dates the timelines count as run."""

from __future__ import annotations

from datetime import date

import asyncpg


async def claim(conn: asyncpg.Connection, review_date: date, kind: str) -> str | None:
    """Start the review if nobody has, and lock it until the transaction ends; returns the
    last member id reviewed ('' at first), or None when it is finished or another
    transaction holds it."""
    await conn.execute(
        "INSERT INTO tier_reviews (review_date, kind) VALUES ($1, $2)"
        " ON CONFLICT (review_date) DO NOTHING", review_date, kind)
    return await conn.fetchval(
        "SELECT cursor FROM tier_reviews WHERE review_date = $1 AND finished_at IS NULL"
        " FOR UPDATE SKIP LOCKED", review_date)


async def advance(conn: asyncpg.Connection, review_date: date, cursor: str, reviewed: int,
                  moved: int, *, finished: bool) -> None:
    await conn.execute(
        "UPDATE tier_reviews SET cursor = $2, members_reviewed = members_reviewed + $3,"
        " members_moved = members_moved + $4,"
        " finished_at = CASE WHEN $5 THEN now() END WHERE review_date = $1",
        review_date, cursor, reviewed, moved, finished)


async def reviews_run(conn: asyncpg.Connection) -> list[date]:
    """The reviews started (finished or not): their changes count from the claim on."""
    return [r[0] for r in await conn.fetch("SELECT review_date FROM tier_reviews")]


async def finished(conn: asyncpg.Connection) -> set[date]:
    return {r[0] for r in await conn.fetch(
        "SELECT review_date FROM tier_reviews WHERE finished_at IS NOT NULL")}


async def review(conn: asyncpg.Connection, review_date: date) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM tier_reviews WHERE review_date = $1",
                               review_date)
