"""SQL of redemption debits: one decision per redemption, and the lots each debit drew on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import asyncpg

from ..domain.debits import Debit, DebitBook


async def decided(conn: asyncpg.Connection, debit_ids: Sequence[str],
                  lots_of: Sequence[str] = ()) -> list[Debit]:
    """Debits already decided (locked), with whether they were refunded, and the lots
    drawn on by those in `lots_of` (the ones being cancelled)."""
    rows = await conn.fetch(
        "SELECT debit_id, member_id, points, outcome, reason, refunded_at FROM debits"
        " WHERE debit_id = ANY($1::text[]) ORDER BY debit_id FOR UPDATE",
        sorted(set(debit_ids)))
    lots = await _lots_taken(conn, lots_of) if lots_of else {}
    return [Debit(row["debit_id"], row["member_id"], row["points"], row["outcome"],
                  row["reason"], lots.get(row["debit_id"], {}), row["refunded_at"] is not None)
            for row in rows]


async def _lots_taken(conn: asyncpg.Connection,
                      debit_ids: Sequence[str]) -> dict[str, dict[date, int]]:
    rows = await conn.fetch(
        "SELECT debit_id, expires_on, points FROM debit_lots WHERE debit_id = ANY($1::text[])",
        list(debit_ids))
    taken: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        taken[row["debit_id"]][row["expires_on"]] = row["points"]
    return taken


async def save(conn: asyncpg.Connection, book: DebitBook) -> None:
    """The book's new decisions with the lots each debit drew on, and its refunds."""
    if book.decided:
        await conn.copy_records_to_table("debits", records=sorted(
            (d.debit_id, d.member_id, d.points, d.outcome, d.reason) for d in book.decided),
            columns=("debit_id", "member_id", "points", "outcome", "reason"))
        if taken := sorted((d.debit_id, d.member_id, day, points)
                           for d in book.decided for day, points in d.lots.items()):
            await conn.copy_records_to_table("debit_lots", records=taken, columns=(
                "debit_id", "member_id", "expires_on", "points"))
    if book.refunded:
        await conn.execute("UPDATE debits SET refunded_at = now() WHERE debit_id = ANY($1::text[])",
                           sorted(d.debit_id for d in book.refunded))
    book.decided.clear()
    book.refunded.clear()
