"""Rebuilding the read models from the topics' history, with the service stopped:

1. the consumer group's committed offsets on every consumed topic are set to each
   partition's earliest offset (refused while the group has members: stop the service);
2. the read models and the inbox are emptied (sql/rebuild.py), in one transaction;
3. the service, started again, replays every topic from the beginning and catches up.

Both steps are idempotent: an interrupted rebuild is run again. Since every row is keyed by
the business month of the event's own time and counters add once per event id, the replay
writes what incremental processing wrote (tests/integration/test_analytics_rebuild.py).
"""

from __future__ import annotations

from collections import Counter

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from .app import CONSUMED
from .settings import AnalyticsSettings
from .sql import rebuild as sql


class GroupActive(RuntimeError):
    """The consumer group has members: the service is running."""


async def rebuild(settings: AnalyticsSettings, name: str = "analytics",
                  topic_prefix: str = "") -> dict[str, int]:
    """Returns the partitions rewound per topic."""
    bootstrap = settings.kafka_bootstrap_servers
    partitions = await _partitions_if_idle(bootstrap, name,
                                           [topic_prefix + topic for topic in CONSUMED])
    await _rewind(bootstrap, name, partitions)
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f'SET search_path TO "{name}"')
        await sql.truncate(conn)
    finally:
        await conn.close()
    return dict(Counter(p.topic for p in partitions))


async def _partitions_if_idle(bootstrap: str, group: str,
                              topics: list[str]) -> list[TopicPartition]:
    """The topics' partitions; GroupActive if the group has members."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for response in await admin.describe_consumer_groups([group]):
            for _error, _id, state, *_ in response.groups:
                if state not in ("Empty", "Dead", ""):
                    raise GroupActive(f"consumer group {group} is {state}: stop the service")
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return [TopicPartition(t["topic"], p["partition"]) for t in described
            if t.get("error_code", 0) == 0 for p in t["partitions"]]


async def _rewind(bootstrap: str, group: str, partitions: list[TopicPartition]) -> None:
    """Commits each partition's earliest offset for the group."""
    if not partitions:
        return
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit(await consumer.beginning_offsets(partitions))
    finally:
        await consumer.stop()
