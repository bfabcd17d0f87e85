"""SQL of campaigns: those stored now with their version, the starting set from the
programme file, a change with its audit row, and the audit read back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from ..domain.campaigns import Action
from ..domain.rules import Campaign

#: Who the audit names for the campaigns copied from programme.toml.
PROGRAMME_FILE = "programme.toml"

_CURRENT = """
SELECT v.version, c.definition
FROM campaigns_version v LEFT JOIN campaigns c ON true
ORDER BY c.id
"""


async def version(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT version FROM campaigns_version")


async def current(conn: asyncpg.Connection, *, lock: bool = False
                  ) -> tuple[int, list[Campaign]]:
    """The version and the campaigns stored now (by id), read together. `lock` holds the
    version row until the transaction ends: changes are made one at a time."""
    if lock:
        await conn.execute("SELECT version FROM campaigns_version FOR UPDATE")
    rows = await conn.fetch(_CURRENT)
    campaigns = [Campaign.model_validate_json(r["definition"]) for r in rows if r["definition"]]
    return rows[0]["version"], campaigns


async def seed(conn: asyncpg.Connection, campaigns: Sequence[Campaign],
               at: datetime) -> list[str]:
    """Copies the file's campaigns whose id is not stored yet; returns their ids."""
    stored = {r[0] for r in await conn.fetch("SELECT id FROM campaigns")}
    new = [c for c in campaigns if c.id not in stored]
    for campaign in new:
        await save(conn, "seeded", PROGRAMME_FILE, at, None, campaign)
    return [c.id for c in new]


async def save(conn: asyncpg.Connection, action: Action, staff_id: str, at: datetime,
               before: Campaign | None, after: Campaign) -> int:
    """Stores `after`, bumps the version and audits the change; returns the new version."""
    new_version = await conn.fetchval(
        "UPDATE campaigns_version SET version = version + 1 RETURNING version")
    definition = to_json(after)
    await conn.execute(
        "INSERT INTO campaigns (id, definition, changed_at, changed_by)"
        " VALUES ($1, $2::jsonb, $3, $4) ON CONFLICT (id) DO UPDATE"
        " SET definition = excluded.definition, changed_at = excluded.changed_at,"
        " changed_by = excluded.changed_by",
        after.id, definition, at, staff_id)
    await conn.execute(
        "INSERT INTO campaign_changes (version, campaign_id, action, staff_id, changed_at,"
        " before, after) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)",
        new_version, after.id, action, staff_id, at,
        to_json(before) if before else None, definition)
    return new_version


async def changes(conn: asyncpg.Connection, campaign_id: str | None, before: int | None,
                  limit: int) -> list[asyncpg.Record]:
    """The audit, newest first; `before` is an audit row id (paging)."""
    return await conn.fetch(
        "SELECT id, version, campaign_id, action, staff_id, changed_at, before, after"
        " FROM campaign_changes WHERE ($1::text IS NULL OR campaign_id = $1)"
        " AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        campaign_id, before, limit)


def to_json(campaign: Campaign) -> str:
    """The campaign as stored and audited: sets as sorted lists, so equal is identical."""
    data: dict[str, Any] = campaign.model_dump(mode="json")
    for key in ("weekdays", "mccs", "channels"):
        if data[key] is not None:
            data[key] = sorted(data[key])
    return json.dumps(data, ensure_ascii=False, sort_keys=True)
