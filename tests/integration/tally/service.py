from __future__ import annotations

import argparse
import asyncio
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

from contracts.corebanking.v1 import CardTransactionPosted
from contracts.points.v1 import Calculation, PointsEarned
from contracts.topics import CARD_TRANSACTIONS_V1, POINTS_V1
from runtime.consumer import Inbound
from runtime.service import Service
from runtime.settings import Settings
from runtime.unit_of_work import UnitOfWork

LIMIT = Decimal("1000000")

_UPSERT = """
INSERT INTO spend (customer_id, total, transactions)
SELECT * FROM unnest($1::text[], $2::numeric[], $3::int[])
ON CONFLICT (customer_id) DO UPDATE
SET total = spend.total + excluded.total, transactions = spend.transactions + excluded.transactions
"""


async def handle(uow: UnitOfWork, batch: list[Inbound[CardTransactionPosted]]) -> None:
    """Adds up each customer's spend and earns a point per CNY."""
    if any(i.event.merchant.name == "SLOW" for i in batch):
        await asyncio.sleep(0.3)  # a batch still in hand when the group rebalances
    sums: dict[str, tuple[Decimal, int]] = {}
    for inbound in batch:
        tx = inbound.event
        if tx.merchant.name == "BOOM":
            raise RuntimeError("the handler has a bug for this merchant")
        if tx.settlement_amount > LIMIT:
            uow.reject(inbound, f"amount {tx.settlement_amount} over limit")
            continue
        total, count = sums.get(tx.customer_id, (Decimal(0), 0))
        sums[tx.customer_id] = (total + tx.settlement_amount, count + 1)
        points = int(tx.settlement_amount)
        uow.emit(PointsEarned(
            member_id=tx.customer_id, transaction_id=tx.transaction_id, points=points,
            calculation=Calculation(
                spend_cny=tx.settlement_amount, base_points=points, bonus_points=0,
                multiplier=Decimal("1.0"), tier="standard", rule_ids=["base"], caps_applied=[]),
            expires_on=date(tx.posted_at.year + 1, 12, 31), earned_at=tx.posted_at,
        ), inbound)
    keys = sorted(sums)  # sorted: concurrent batches lock rows in the same order
    await uow.conn.execute(_UPSERT, keys, [sums[k][0] for k in keys],
                           [sums[k][1] for k in keys])


def build(name: str, topic_prefix: str, settings: Settings | None = None,
          max_records: int = 100) -> Service:
    settings = settings or Settings(batch_max_records=max_records, batch_timeout_ms=50)
    service = Service(name, settings=settings, package_dir=Path(__file__).parent,
                      publishes=[POINTS_V1], topic_prefix=topic_prefix)
    service.input_topic = service.topic(CARD_TRANSACTIONS_V1)
    service.transactions = service.subscribe(CARD_TRANSACTIONS_V1, handle,
                                             consumes=[CardTransactionPosted])
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
