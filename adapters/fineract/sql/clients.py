"""Clients seen active: who was onboarded, who left out, who closed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg


async def insert_clients(conn: asyncpg.Connection,
                         rows: Sequence[tuple[int, str, bool, datetime]]) -> set[int]:
    """(client_id, customer_id, included, at) of clients seen active; returns the ids new
    here (a client is onboarded once, whatever Fineract sends again)."""
    rows = sorted(set(rows))
    found = await conn.fetch(
        "INSERT INTO clients (client_id, customer_id, included, onboarded_at)"
        " SELECT c, cu, i, CASE WHEN i THEN t END"
        " FROM unnest($1::bigint[], $2::text[], $3::boolean[], $4::timestamptz[])"
        "      AS r(c, cu, i, t)"
        " ON CONFLICT (client_id) DO NOTHING RETURNING client_id",
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows])
    return {row["client_id"] for row in found}


async def close_clients_without_open_accounts(conn: asyncpg.Connection,
                                              client_ids: Sequence[int],
                                              at: datetime) -> list[tuple[int, str]]:
    """Mark closed the onboarded, open clients among `client_ids` whose every savings
    account is closed; returns (client_id, customer_id) of those."""
    rows = await conn.fetch(
        "UPDATE clients c SET closed_at = $2"
        " WHERE c.client_id = ANY($1::bigint[]) AND c.included AND c.closed_at IS NULL"
        "   AND NOT EXISTS (SELECT 1 FROM savings_accounts a"
        "                   WHERE a.client_id = c.client_id AND a.closed_on IS NULL)"
        " RETURNING client_id, customer_id", list(client_ids), at)
    return sorted((row["client_id"], row["customer_id"]) for row in rows)
