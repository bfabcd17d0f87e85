"""Members' tier timelines as recorded (what the app's tier history shows), and the
append-only audit of every member.tier-changed announced (tier_history), from which the
announced view is read: the last tier announced for each effective day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from contracts.tiers import Tier

from ..domain.tiers import TierChange

_COLUMNS = ("old_tier", "new_tier", "reason", "effective_date", "assets_month", "override_id")


def _change(row: asyncpg.Record) -> TierChange:
    return TierChange(*(row[c] for c in _COLUMNS))


def _values(change: TierChange) -> tuple:
    return tuple(getattr(change, c) for c in _COLUMNS)


async def timelines(conn: asyncpg.Connection,
                    member_ids: Sequence[str]) -> dict[str, tuple[TierChange, ...]]:
    rows = await conn.fetch(
        "SELECT * FROM tier_timeline WHERE member_id = ANY($1::text[])"
        " ORDER BY member_id, effective_date", list(member_ids))
    found: dict[str, list[TierChange]] = defaultdict(list)
    for row in rows:
        found[row["member_id"]].append(_change(row))
    return {member_id: tuple(changes) for member_id, changes in found.items()}


async def replace_timelines(conn: asyncpg.Connection,
                            timelines: Mapping[str, Sequence[TierChange]]) -> None:
    if not timelines:
        return
    ids = sorted(timelines)
    await conn.execute("DELETE FROM tier_timeline WHERE member_id = ANY($1::text[])", ids)
    await conn.copy_records_to_table(
        "tier_timeline", columns=("member_id", *_COLUMNS),
        records=[(m, *_values(c)) for m in ids for c in timelines[m]])


@dataclass(frozen=True, slots=True)
class Announced:
    """What was announced for one member's effective day."""

    tier: Tier   # the last word
    times: int   # how many announcements that day has had


async def announced(conn: asyncpg.Connection,
                    member_ids: Sequence[str]) -> dict[str, dict[date, Announced]]:
    rows = await conn.fetch(
        "SELECT DISTINCT ON (member_id, effective_date) member_id, effective_date, new_tier,"
        "       count(*) OVER (PARTITION BY member_id, effective_date) AS times"
        " FROM tier_history WHERE member_id = ANY($1::text[])"
        " ORDER BY member_id, effective_date, id DESC", list(member_ids))
    found: dict[str, dict[date, Announced]] = defaultdict(dict)
    for row in rows:
        found[row["member_id"]][row["effective_date"]] = Announced(row["new_tier"], row["times"])
    return found


@dataclass(frozen=True, slots=True)
class RecordedChange:
    member_id: str
    change: TierChange
    changed_at: datetime
    event_id: str


async def record_tier_changes(conn: asyncpg.Connection,
                              changes: Sequence[RecordedChange]) -> None:
    """Into the audit, each member's in the order announced (a day's last word gets the
    highest id)."""
    if changes:
        await conn.copy_records_to_table(
            "tier_history", columns=("member_id", *_COLUMNS, "changed_at", "event_id"),
            records=[(r.member_id, *_values(r.change), r.changed_at, r.event_id)
                     for r in sorted(changes, key=lambda r: r.member_id)])


async def tier_history(conn: asyncpg.Connection, member_id: str,
                       limit: int) -> list[asyncpg.Record]:
    """The member's timeline, newest first, with when each day was last announced and who
    set an override."""
    return await conn.fetch(
        "SELECT t.*, h.changed_at, o.staff_id FROM tier_timeline t"
        " LEFT JOIN LATERAL (SELECT changed_at FROM tier_history h"
        "   WHERE h.member_id = t.member_id AND h.effective_date = t.effective_date"
        "   ORDER BY id DESC LIMIT 1) h ON true"
        " LEFT JOIN tier_overrides o ON o.id = t.override_id"
        " WHERE t.member_id = $1 ORDER BY t.effective_date DESC LIMIT $2", member_id, limit)
