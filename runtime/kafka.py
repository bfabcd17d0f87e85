"""Kafka wiring shared by the services: the broker with its middlewares, the relay's
idempotent producer, topic creation with each topic's settings (`topic_config`: the
contacts topic compacted, short retention for the dead letters of topics with personal
data; docs/personal-data.md), and per-partition lag."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY

from contracts.topics import MEMBER_CONTACTS_V1, PERSONAL_DATA, dead_letter_parent

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


DAY_MS = 24 * 3600 * 1000
#: How long a dead letter of a topic with personal data is kept: long enough to look at
#: and replay it (ops), not as long as the topic's own records.
PERSONAL_DEAD_LETTER_RETENTION_MS = 3 * DAY_MS
#: The contacts topic keeps each member's last record. Compaction waits a day (a consumer
#: lagging less than that sees every change and the erasure) and comes within a week (an
#: erased member's contact data is gone from the log then); a tombstone stays a day.
CONTACTS_CONFIG = {"cleanup.policy": "compact", "min.compaction.lag.ms": str(DAY_MS),
                   "max.compaction.lag.ms": str(7 * DAY_MS),
                   "delete.retention.ms": str(DAY_MS)}


def topic_config(contract_topic: str) -> dict[str, str]:
    """The settings the contract topic `contract_topic` is created with and kept at (the
    broker's defaults for the rest: 7 days' retention)."""
    if contract_topic == MEMBER_CONTACTS_V1:
        return dict(CONTACTS_CONFIG)
    if dead_letter_parent(contract_topic) in PERSONAL_DATA:
        return {"retention.ms": str(PERSONAL_DEAD_LETTER_RETENTION_MS)}
    return {}


async def ensure_topics(bootstrap_servers: str, topics: Iterable[str], partitions: int,
                        configs: Mapping[str, Mapping[str, str]] | None = None) -> list[str]:
    """Create those of `topics` the broker lacks (it does not auto-create them), with their
    `configs`, and set the `configs` of those that exist but differ; returns the ones it
    created. Idempotent, and safe when another process creates them meanwhile."""
    configs = configs or {}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        missing = sorted(set(topics) - set(await admin.list_topics()))
        created = []
        for topic in missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(topic, partitions, 1,
                                                    topic_configs=dict(configs.get(topic, {})))])
                created.append(topic)
                log.info("created topic %s (%d partitions)", topic, partitions)
        # One another process created meanwhile may lack the settings: keep them too.
        wanted = {t: dict(c) for t, c in configs.items() if c and t not in created}
        await _keep_configs(admin, wanted)
        return created
    finally:
        await admin.close()


async def _keep_configs(admin: AIOKafkaAdminClient, wanted: dict[str, dict[str, str]]) -> None:
    """Topics created before their settings were (or by another tool) get them."""
    if not wanted:
        return
    found = await _described(admin, wanted)
    for topic, config in wanted.items():
        if any(found.get(topic, {}).get(k) != v for k, v in config.items()):
            # AlterConfigs sets the whole set: the topic's other settings go back to the
            # broker's defaults, which is what topics here have.
            responses = await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC,
                                                                  topic, configs=config)])
            errors = [(code, message) for response in responses
                      for code, message, *_ in response.resources if code]
            if errors:  # the broker answers errors, it does not raise them
                raise RuntimeError(f"topic {topic} could not be set to {config}: {errors}")
            log.info("topic %s set to %s", topic, config)


async def _described(admin: AIOKafkaAdminClient,
                     topics: Iterable[str]) -> dict[str, dict[str, str]]:
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, t) for t in sorted(set(topics))])
    found: dict[str, dict[str, str]] = {}
    for response in responses:
        for error_code, _message, _type, name, entries in response.resources:
            if error_code == 0:
                found[name] = {entry[0]: entry[1] for entry in entries}
    return found


async def topic_configs(bootstrap_servers: str,
                        topics: Iterable[str]) -> dict[str, dict[str, str]]:
    """Every setting of each of `topics`, as the broker describes it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        return await _described(admin, topics)
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
    last: dict[tuple[str, int], int] = {}
    for record in records:
        last[record.topic, record.partition] = record.offset
    for (topic, partition), offset in last.items():
        tp = TopicPartition(topic, partition)
        try:
            highwater = consumer.highwater(tp)
        except AssertionError:  # revoked by a rebalance while the batch ran: no figure
            continue
        if highwater is not None:
            CONSUMER_LAG.labels(tp.topic, group, str(tp.partition)).set(
                max(0, highwater - offset - 1))
