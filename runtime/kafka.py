"""Kafka wiring shared by the services: the broker with its middlewares, the relay's
idempotent producer, topic creation, and per-partition lag."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY

from .metrics import CONSUMER_LAG

log = logging.getLogger(__name__)


def make_broker(bootstrap_servers: str, service: str) -> KafkaBroker:
    return KafkaBroker(
        bootstrap_servers,
        client_id=f"loyalty-{service}",
        # Through our JSON handler, and per-batch "Received/Processed" lines only at DEBUG.
        logger=logging.getLogger("loyalty.broker"),
        log_level=logging.DEBUG,
        middlewares=(
            # The global provider, set up by Service.run() (a proxy until then).
            KafkaTelemetryMiddleware(),
            KafkaPrometheusMiddleware(registry=REGISTRY, app_name=service),
        ),
    )


def make_producer(bootstrap_servers: str, service: str) -> AIOKafkaProducer:
    # Idempotent: a retried send can neither duplicate nor reorder a partition's records.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=f"loyalty-{service}-relay",
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=512 * 1024,
    )


async def ensure_topics(bootstrap_servers: str, topics: Iterable[str],
                        partitions: int) -> list[str]:
    """Create those of `topics` the broker lacks (it does not auto-create them); returns the
    ones it created. Idempotent, and safe when another process creates them meanwhile."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        missing = sorted(set(topics) - set(await admin.list_topics()))
        for topic in missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(topic, partitions, 1)])
                log.info("created topic %s (%d partitions)", topic, partitions)
        return missing
    finally:
        await admin.close()


async def delete_topics(bootstrap_servers: str, prefix: str) -> list[str]:
    """Delete every topic whose name starts with `prefix` (the private world of a test or a
    benchmark: a broker holds every partition's state in memory); returns their names. A
    topic deleted by someone else meanwhile is not an error."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if topics:
            with contextlib.suppress(UnknownTopicOrPartitionError):
                await admin.delete_topics(topics)
        return topics
    finally:
        await admin.close()


def record_lag(consumer: AIOKafkaConsumer, records: Sequence[ConsumerRecord], group: str) -> None:
    """Lag of the partitions in this batch, from the high watermark of the last fetch."""
    last: dict[TopicPartition, int] = {}
    for record in records:
        last[TopicPartition(record.topic, record.partition)] = record.offset
    for tp, offset in last.items():
        try:
            highwater = consumer.highwater(tp)
        except AssertionError:  # revoked by a rebalance while the batch ran: no figure
            continue
        if highwater is not None:
            CONSUMER_LAG.labels(tp.topic, group, str(tp.partition)).set(
                max(0, highwater - offset - 1))
