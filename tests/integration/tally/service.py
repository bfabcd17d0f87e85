from __future__ import annotations

import argparse
import asyncio
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from contracts.corebanking.v1 import CardTransactionPosted, CardTransactionRefunded
from contracts.points.v1 import Calculation, PointsEarned
from contracts.topics import CARD_TRANSACTIONS_V1, POINTS_V1
from runtime.consumer import Inbound, Outcome, Outgoing
from runtime.service import Service
from runtime.settings import Settings
from runtime.subscriber import undecoded

LIMIT = Decimal("1000000")

_UPSERT = """
INSERT INTO spend (customer_id, total, transactions)
SELECT * FROM unnest($1::text[], $2::numeric[], $3::int[])
ON CONFLICT (customer_id) DO UPDATE
SET total = spend.total + excluded.total, transactions = spend.transactions + excluded.transactions
"""


async def handle(conn, batch: list[Inbound[CardTransactionPosted]]) -> Outcome:
    outcome = Outcome()
    sums: dict[str, tuple[Decimal, int]] = {}
    for inbound in batch:
        tx = inbound.event
        if tx.merchant.name == "BOOM":
            raise RuntimeError("the handler has a bug for this merchant")
        if tx.settlement_amount > LIMIT:
            outcome.rejected.append((inbound, f"amount {tx.settlement_amount} over limit"))
            continue
        total, count = sums.get(tx.customer_id, (Decimal(0), 0))
        sums[tx.customer_id] = (total + tx.settlement_amount, count + 1)
        points = int(tx.settlement_amount)
        outcome.events.append(Outgoing(PointsEarned(
            member_id=tx.customer_id, transaction_id=tx.transaction_id, points=points,
            calculation=Calculation(
                spend_cny=tx.settlement_amount, base_points=points, bonus_points=0,
                multiplier=Decimal("1.0"), tier="standard", rule_ids=["base"], caps_applied=[]),
            expires_on=date(tx.posted_at.year + 1, 12, 31), earned_at=tx.posted_at,
        ), cause=inbound))
    keys = sorted(sums)  # sorted: concurrent batches lock rows in the same order
    await conn.execute(_UPSERT, keys, [sums[k][0] for k in keys], [sums[k][1] for k in keys])
    return outcome


def build(name: str, topic_prefix: str, settings: Settings | None = None,
          max_records: int = 100) -> Service:
    settings = settings or Settings()
    service = Service(name, settings=settings, package_dir=Path(__file__).parent,
                      publishes=[POINTS_V1], topic_prefix=topic_prefix)
    service.input_topic = service.topic(CARD_TRANSACTIONS_V1)
    service.transactions = processor = service.processor(
        CARD_TRANSACTIONS_V1, group=name, handler=handle,
        models={CardTransactionPosted.ce_type: CardTransactionPosted},
        ignored_types={CardTransactionRefunded.ce_type})

    @service.broker.subscriber(service.input_topic, group_id=name, batch=True,
                               max_records=max_records,
                               batch_timeout_ms=50, auto_offset_reset="earliest",
                               ack_policy=AckPolicy.NACK_ON_ERROR, decoder=undecoded)
    async def card_transactions(message: KafkaMessage) -> None:
        await processor.consume(message)

    return service


async def _crash_after_first_commit(name: str, topic_prefix: str) -> None:
    """Run until the first batch is committed to the database, then die like a killed
    process would: no offset commit, no clean shutdown."""
    service = build(name, topic_prefix)
    service.transactions.after_commit.append(lambda report: os._exit(137))
    await service.start()
    await asyncio.sleep(60)
    os._exit(1)  # never reached when records arrive


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("topic_prefix")
    args = parser.parse_args()
    asyncio.run(_crash_after_first_commit(args.name, args.topic_prefix))
