"""SQL of refunds: the purchases they reverse, the refunds applied, and the refunds parked
until their purchase arrives (kept with their envelope and where they were consumed from,
to be applied later or dead-lettered like any consumed record). A parked refund that waited
too long is dead-lettered once and stays parked: its purchase may still come."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from contracts.corebanking.v1 import CardTransactionRefunded
from contracts.envelope import Envelope
from contracts.topics import CARD_TRANSACTIONS_V1
from runtime.consumer import Inbound
from runtime.unit_of_work import StoredRecord

from ..domain.refunds import Refundable, Reversal

# What the refunds of purchase `g` (a row of `ratings`) refunded and took back so far,
# `reversed` with what the re-ratings changed in it; and what those dated from the member's
# closure on refunded (they count nothing: domain/refunds.py).
REFUNDED_SO_FAR = """
coalesce(r.refunded, 0) AS refunded,
coalesce(r.reversed, 0) + g.reversed_adjustment AS reversed,
coalesce(r.after_closure, 0) AS refunded_after_closure
"""
REFUNDS_OF_PURCHASE = """
LEFT JOIN closed_members c ON c.member_id = g.member_id
LEFT JOIN LATERAL (SELECT sum(amount_cny) AS refunded, sum(points_reversed) AS reversed,
                          sum(amount_cny) FILTER (WHERE r.refunded_at >= c.closed_at)
                          AS after_closure
                   FROM refunds r WHERE r.transaction_id = g.transaction_id) r ON true
"""
# The purchase's points as rated now (a re-rating may have changed them, and what its
# refunds took back with them: sql/rerating.py).
_REFUNDABLE = f"""
SELECT g.transaction_id, g.member_id, g.spend_cny, g.points, g.expires_on, {REFUNDED_SO_FAR}
FROM unnest($1::text[]) AS t (transaction_id) JOIN ratings g USING (transaction_id)
{REFUNDS_OF_PURCHASE}
"""


async def refundable(conn: asyncpg.Connection,
                     transaction_ids: Sequence[str]) -> dict[str, Refundable]:
    """The purchases that have arrived, with what was refunded of them so far."""
    rows = await conn.fetch(_REFUNDABLE, sorted(set(transaction_ids)))
    return {row["transaction_id"]: Refundable(
        row["transaction_id"], row["member_id"], row["spend_cny"], row["points"],
        row["expires_on"], row["refunded"], row["reversed"], row["refunded_after_closure"])
        for row in rows}


async def known_refunds(conn: asyncpg.Connection, refund_ids: Sequence[str]) -> set[str]:
    """Refunds already applied or already waiting: a re-sent refund changes nothing."""
    rows = await conn.fetch(
        "SELECT refund_id FROM unnest($1::text[]) AS r (refund_id) JOIN refunds USING (refund_id)"
        " UNION ALL SELECT refund_id FROM unnest($1::text[]) AS r (refund_id)"
        " JOIN pending_refunds USING (refund_id)",
        list(refund_ids))
    return {row[0] for row in rows}


async def record_refunds(conn: asyncpg.Connection, applied: Sequence[Reversal]) -> None:
    if applied:
        await conn.copy_records_to_table("refunds", records=sorted(
            (r.refund_id, r.transaction_id, r.member_id, r.amount, r.points, r.at)
            for r in applied), columns=(
            "refund_id", "transaction_id", "member_id", "amount_cny", "points_reversed",
            "refunded_at"))


# ---------------------------------------------------------------------- parked refunds

_PARKED_COLUMNS = ("refund_id", "transaction_id", "member_id", "event_id", "payload",
                   "header_names", "header_values", "original_topic", "original_partition",
                   "original_offset")
_PARKED = ("refund_id, member_id, payload, header_names, header_values, received_at,"
           " original_topic, original_partition, original_offset, dead_lettered_at")


async def park(conn: asyncpg.Connection,
               refunds: Sequence[Inbound[CardTransactionRefunded]]) -> None:
    """Refunds whose purchase has not arrived, kept until it does."""
    rows = []
    for inbound in refunds:
        refund, record, headers = inbound.event, inbound.record, inbound.envelope.to_headers()
        rows.append((refund.refund_id, refund.original_transaction_id, refund.customer_id,
                     inbound.envelope.id, refund.model_dump_json(exclude_none=True).encode(),
                     [name for name, _ in headers], [value for _, value in headers],
                     *((record.topic, record.partition, record.offset) if record
                       else (None, None, None))))
    if rows:
        await conn.copy_records_to_table("pending_refunds", records=sorted(rows),
                                         columns=_PARKED_COLUMNS)


async def take_waiting(conn: asyncpg.Connection, transaction_ids: Sequence[str]
                       ) -> tuple[list[Inbound[CardTransactionRefunded]], list[asyncpg.Record]]:
    """The parked refunds of these purchases, removed from the waiting list; and those of
    them that had gone to operations (refund_id, dead_lettered_at)."""
    rows = await conn.fetch(
        "DELETE FROM pending_refunds p USING unnest($1::text[]) AS t (transaction_id)"
        f" WHERE p.transaction_id = t.transaction_id RETURNING {_PARKED}",
        list(transaction_ids))
    return ([Inbound(CardTransactionRefunded.model_validate_json(row["payload"]),
                     Envelope.from_headers(record.headers), record)
             for row in rows for record in [stored_record(row)]],
            [row for row in rows if row["dead_lettered_at"] is not None])


_OVERDUE = f"""
UPDATE pending_refunds SET dead_lettered_at = now()
WHERE refund_id IN (
    SELECT refund_id FROM pending_refunds
    WHERE dead_lettered_at IS NULL AND received_at < now() - make_interval(secs => $1)
    ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING {_PARKED}
"""


async def take_overdue(conn: asyncpg.Connection, waited_seconds: float,
                       limit: int = 5000) -> list[asyncpg.Record]:
    """Parked refunds that waited too long and have not gone to operations yet, now marked
    as gone (they stay parked for their purchase)."""
    return await conn.fetch(_OVERDUE, waited_seconds, limit)


def stored_record(row: asyncpg.Record) -> StoredRecord:
    """A parked refund as the record it was consumed as (its data and CloudEvents headers
    re-encoded). Refunds parked before their origin was kept name the contract topic."""
    return StoredRecord(
        topic=row["original_topic"] or CARD_TRANSACTIONS_V1,
        partition=row["original_partition"], offset=row["original_offset"],
        key=row["member_id"].encode(), value=row["payload"],
        headers=list(zip(row["header_names"], row["header_values"], strict=True)))
