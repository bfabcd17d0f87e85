"""Where messages enter the points service: its subscribers, and how the service is built.

    corebanking.card-transactions.v1 --(batches)--> EarnOnPurchase (handlers.py)
        -> ledger (ledger_sql.py) + points.earned on loyalty.points.v1 (via the outbox)
"""

from __future__ import annotations

from pathlib import Path

from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from contracts.corebanking.v1 import CardTransactionPosted, CardTransactionRefunded
from contracts.topics import CARD_TRANSACTIONS_V1, POINTS_V1
from runtime.service import Service

from .handlers import EarnOnPurchase
from .programme import load_rules
from .settings import PointsSettings

PACKAGE_DIR = Path(__file__).parent


def build(name: str = "points", topic_prefix: str = "",
          settings: PointsSettings | None = None) -> Service:
    """`name` is the schema and the consumer group; tests pass their own, and a prefix for
    private input topics, to stay apart."""
    settings = settings or PointsSettings()
    rules = load_rules(settings.programme_file)  # a bad programme file stops the start here
    service = Service(name, settings=settings, package_dir=PACKAGE_DIR, publishes=[POINTS_V1],
                      topic_prefix=topic_prefix)

    card_transactions = service.processor(
        CARD_TRANSACTIONS_V1, group=name, handler=EarnOnPurchase(rules),
        models={CardTransactionPosted.ce_type: CardTransactionPosted},
        # Refunds are the next slice; until then they are skipped, not dead-lettered.
        ignored_types={CardTransactionRefunded.ce_type})

    @service.broker.subscriber(service.topic(CARD_TRANSACTIONS_V1), group_id=name,
                               ack_policy=AckPolicy.NACK_ON_ERROR, **service.batch_options())
    async def on_card_transactions(message: KafkaMessage) -> None:
        await card_transactions.consume(message)

    service.card_transactions = card_transactions  # tests watch its commits
    return service
