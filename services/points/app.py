"""Where messages enter the points service: its subscribers, jobs and HTTP routes.

    corebanking.card-transactions.v1 --> OnCardTransactions (handlers/card_transactions.py)
        purchases earn, refunds reverse          -> points.earned / points.reversed
    loyalty.members.v1               --> on_member_events (handlers/members.py)
        tier changes set the multiplier, a closed member forfeits -> points.forfeited
    loyalty.rewards.v1               --> OnRedemptions (handlers/redemptions.py)
        debit requests and cancellations         -> points.debited / debit-rejected / refunded
    daily                            --> ExpiryJob (jobs.py) -> points.expired / expiring-soon
    HTTP /v1/members/{id}/balance|history (api.py)

Everything goes out on loyalty.points.v1 through the outbox.
"""

from __future__ import annotations

from pathlib import Path

from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from contracts.accounts.v1 import MemberClosed, MemberEnrolled, MemberTierChanged, MemberUpdated
from contracts.corebanking.v1 import CardTransactionPosted, CardTransactionRefunded
from contracts.rewards.v1 import (
    RedemptionCancelled,
    RedemptionConfirmed,
    RedemptionRejected,
    RedemptionRequested,
)
from contracts.topics import CARD_TRANSACTIONS_V1, MEMBERS_V1, POINTS_V1, REWARDS_V1
from runtime.service import Service

from . import api
from .handlers.card_transactions import OnCardTransactions
from .handlers.members import on_member_events
from .handlers.redemptions import OnRedemptions
from .jobs import ExpiryJob, run_daily
from .programme import load_rules
from .settings import PointsSettings

PACKAGE_DIR = Path(__file__).parent


def _types(*models) -> dict:
    return {m.ce_type: m for m in models}


def build(name: str = "points", topic_prefix: str = "",
          settings: PointsSettings | None = None) -> Service:
    """`name` is the schema and the consumer group; tests pass their own, and a prefix for
    private topics, to stay apart."""
    settings = settings or PointsSettings()
    rules = load_rules(settings.programme_file)  # a bad programme file stops the start here
    service = Service(name, settings=settings, package_dir=PACKAGE_DIR, publishes=[POINTS_V1],
                      topic_prefix=topic_prefix)

    card_transactions = service.processor(
        CARD_TRANSACTIONS_V1, group=name, handler=OnCardTransactions(rules),
        models=_types(CardTransactionPosted, CardTransactionRefunded))
    members = service.processor(
        MEMBERS_V1, group=name, handler=on_member_events,
        models=_types(MemberTierChanged, MemberClosed),
        ignored_types={MemberEnrolled.ce_type, MemberUpdated.ce_type})
    redemptions = service.processor(
        REWARDS_V1, group=name, handler=OnRedemptions(rules),
        models=_types(RedemptionRequested, RedemptionCancelled),
        ignored_types={RedemptionConfirmed.ce_type, RedemptionRejected.ce_type})

    async def on_card_transactions(message: KafkaMessage) -> None:
        await card_transactions.consume(message)

    # Several consumers of the group in one process may share the partitions (one decodes
    # while another waits for the database); more processes scale better (settings.py).
    for _ in range(settings.card_consumers):
        service.broker.subscriber(
            service.topic(CARD_TRANSACTIONS_V1), group_id=name,
            ack_policy=AckPolicy.NACK_ON_ERROR, **service.batch_options(),
        )(on_card_transactions)

    @service.broker.subscriber(service.topic(MEMBERS_V1), group_id=name,
                               ack_policy=AckPolicy.NACK_ON_ERROR, **service.batch_options())
    async def on_members(message: KafkaMessage) -> None:
        await members.consume(message)

    @service.broker.subscriber(service.topic(REWARDS_V1), group_id=name,
                               ack_policy=AckPolicy.NACK_ON_ERROR, **service.batch_options())
    async def on_redemptions(message: KafkaMessage) -> None:
        await redemptions.consume(message)

    service.expiry = ExpiryJob(
        schema=name, source=f"urn:loyalty:{name}", announce_days=settings.expiry_notice_days,
        refund_wait_seconds=settings.refund_wait_seconds)

    async def expire_daily() -> None:
        await run_daily(service.expiry, service.pool, rules.zone, settings.expiry_check_seconds)

    service.background(expire_daily)

    service.http.state.pool = lambda: service.pool
    service.http.state.zone = rules.zone
    service.http.include_router(api.router)
    # Tests watch the commits.
    service.card_transactions, service.members, service.redemptions = (
        card_transactions, members, redemptions)
    return service
