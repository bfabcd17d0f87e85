"""Monthly asset snapshots: the history the tier rules decide from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg


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


async def asset_histories(conn: asyncpg.Connection,
                          member_ids: Sequence[str]) -> dict[str, dict[str, Decimal]]:
    """Each member's assets by month: the whole history the tiers are decided from."""
    rows = await conn.fetch(
        "SELECT member_id, month, average_daily_assets FROM asset_snapshots"
        " WHERE member_id = ANY($1::text[])", list(member_ids))
    histories: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        histories[row["member_id"]][row["month"]] = row["average_daily_assets"]
    return histories

