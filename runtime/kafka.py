"""Kafka wiring shared by the services: the broker with its middlewares, the relay's
idempotent producer, topic creation, and per-partition lag."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
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


class RebalanceGate(ConsumerRebalanceListener):
    """One per consumer. A rebalance waits until the batch in hand is applied and its offsets
    committed (`async with gate:` around the batch), so no batch is applied by two owners;
    each rebalance is logged as one line."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = asyncio.Lock()
        self._revoked: set[TopicPartition] = set()

    async def __aenter__(self) -> None:
        await self._lock.acquire()

    async def __aexit__(self, *_exc: object) -> None:
        self._lock.release()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:  # the batch in hand finishes first
            self._revoked = set(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("rebalance of %s: %d partitions assigned (%s), %d given up", self._name,
                 len(assigned), _partition_list(assigned), len(self._revoked - set(assigned)))


def _partition_list(partitions: Iterable[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(partitions)) or "none"


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


async def recent_event_ids(bootstrap_servers: str, topics: Iterable[str],
                           per_partition: int) -> set[tuple[str, str]]:
    """(topic, ce_id) of the last `per_partition` records of every partition of `topics`."""
    partitions = await _partitions(bootstrap_servers, topics)
    if not partitions:
        return set()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        pending = {tp for tp in partitions if ends[tp] > starts[tp]}
        for tp in pending:
            consumer.seek(tp, max(starts[tp], ends[tp] - per_partition))
        seen: set[tuple[str, str]] = set()
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    ce_id = dict(record.headers or ()).get("ce_id")
                    if ce_id is not None:
                        seen.add((tp.topic, ce_id.decode()))
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        return seen
    finally:
        await consumer.stop()


async def _partitions(bootstrap_servers: str, topics: Iterable[str]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics(sorted(set(topics)))
    finally:
        await admin.close()
    return [TopicPartition(t["topic"], p["partition"]) for t in described
            if t.get("error_code", 0) == 0 for p in t["partitions"]]


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
