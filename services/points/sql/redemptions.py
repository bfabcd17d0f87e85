"""SQL of redemption debits: one decision per redemption, and the lots each debit drew on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import asyncpg


async def decided(conn: asyncpg.Connection, debit_ids: Sequence[str]) -> dict[str, asyncpg.Record]:
    """Debits already decided, with whether (and when) they were refunded."""
    rows = await conn.fetch(
        "SELECT debit_id, member_id, points, outcome, refunded_at FROM debits"
        " WHERE debit_id = ANY($1::text[]) ORDER BY debit_id FOR UPDATE",
        sorted(set(debit_ids)))
    return {row["debit_id"]: row for row in rows}


async def lots_taken(conn: asyncpg.Connection,
                     debit_ids: Sequence[str]) -> dict[str, dict[date, int]]:
    rows = await conn.fetch(
        "SELECT debit_id, expires_on, points FROM debit_lots WHERE debit_id = ANY($1::text[])",
        list(debit_ids))
    taken: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        taken[row["debit_id"]][row["expires_on"]] = row["points"]
    return taken


async def record_decisions(conn: asyncpg.Connection, rows: Sequence[tuple],
                           taken: Sequence[tuple[str, str, date, int]]) -> None:
    """rows: (debit_id, member_id, points, outcome, reason); taken: (debit_id, member_id,
    expires_on, points) for the debited ones."""
    if rows:
        await conn.copy_records_to_table("debits", records=sorted(rows), columns=(
            "debit_id", "member_id", "points", "outcome", "reason"))
    if taken:
        await conn.copy_records_to_table("debit_lots", records=sorted(taken), columns=(
            "debit_id", "member_id", "expires_on", "points"))


async def mark_refunded(conn: asyncpg.Connection, debit_ids: Sequence[str]) -> None:
    if debit_ids:
        await conn.execute("UPDATE debits SET refunded_at = now() WHERE debit_id = ANY($1::text[])",
                           sorted(debit_ids))
