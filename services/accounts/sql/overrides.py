"""The staff's tier overrides: the audit of who set what until when, and how each ended."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import asyncpg

from ..domain.tiers import Override


async def insert_override(conn: asyncpg.Connection, member_id: str, tier: str, starts_on: date,
                          until: date, reason: str, staff_id: str,
                          approved_by: str | None = None) -> int:
    return await conn.fetchval(
        "INSERT INTO tier_overrides (member_id, tier, starts_on, until, reason, staff_id,"
        " approved_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        member_id, tier, starts_on, until, reason, staff_id, approved_by)


async def end_overrides(conn: asyncpg.Connection, override_ids: Sequence[int], end_reason: str,
                        ended_by: str | None = None, ended_on: date | None = None) -> None:
    """`ended_on`: the first day without it (withdrawn, replaced); else the day after its
    last day."""
    await conn.execute(
        "UPDATE tier_overrides SET ended_at = now(), end_reason = $2, ended_by = $3,"
        " ended_on = coalesce($4, until + 1)"
        " WHERE id = ANY($1::bigint[]) AND ended_at IS NULL",
        sorted(override_ids), end_reason, ended_by, ended_on)


async def overrides_of(conn: asyncpg.Connection,
                       member_ids: Sequence[str]) -> dict[str, list[Override]]:
    """Every override the members had, in the order they were set."""
    rows = await conn.fetch(
        "SELECT * FROM tier_overrides WHERE member_id = ANY($1::text[]) ORDER BY id",
        list(member_ids))
    found: dict[str, list[Override]] = defaultdict(list)
    for r in rows:
        found[r["member_id"]].append(
            Override(r["id"], r["tier"], r["until"], r["starts_on"], r["ended_on"]))
    return found


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
