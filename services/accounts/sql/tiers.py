"""Tier status: where each member's timeline ends (effective and asset tier, the override
in force)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from ..domain.tiers import Override, TierState


async def tier_states(conn: asyncpg.Connection, member_ids: Sequence[str],
                      ) -> dict[str, TierState]:
    """Tier status of the given members that are active (closed members' tiers are frozen)."""
    rows = await conn.fetch(
        "SELECT t.*, o.starts_on, o.ended_on FROM member_tiers t JOIN members m USING (member_id)"
        " LEFT JOIN tier_overrides o ON o.id = t.override_id"
        " WHERE t.member_id = ANY($1::text[]) AND m.status = 'active'", list(member_ids))
    return {row["member_id"]: _tier_state(row) for row in rows}


def _tier_state(row: asyncpg.Record) -> TierState:
    override = None
    if row["override_id"] is not None:
        override = Override(row["override_id"], row["override_tier"], row["override_until"],
                            row["starts_on"], row["ended_on"])
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


async def tier_row(conn: asyncpg.Connection, member_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT t.*, m.status, o.reason AS override_reason, o.staff_id AS override_staff_id"
        " FROM member_tiers t JOIN members m USING (member_id)"
        " LEFT JOIN tier_overrides o ON o.id = t.override_id WHERE t.member_id = $1", member_id)
