"""What the broker says about a world: consumer lag per service and the event ids on its
topics. Every call uses clients of its own and gives up after a bound (None): the broker
may be down or just restarted."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from .world import CONSUMES, World

TIMEOUT = 10.0


class Broker:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._partitions: dict[str, list[TopicPartition]] = {}

    async def lags(self, world: World) -> dict[str, int] | None:
        """Records each service's group has not committed yet, on all it consumes."""
        with contextlib.suppress(Exception):
            return await asyncio.wait_for(self._lags(world), TIMEOUT)
        return None

    async def _lags(self, world: World) -> dict[str, int]:
        topics = sorted({world.topic(t) for ts in CONSUMES.values() for t in ts})
        partitions = await self.partitions(topics)
        ends = await self._end_offsets(partitions)
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap,
                                    request_timeout_ms=int(TIMEOUT * 1000))
        await admin.start()
        try:
            lags = {}
            for service, consumed in CONSUMES.items():
                committed = await admin.list_consumer_group_offsets(world.schema(service))
                mine = {world.topic(t) for t in consumed}
                lags[service] = sum(
                    end - (committed[tp].offset if tp in committed else 0)
                    for tp, end in ends.items() if tp.topic in mine)
            return lags
        finally:
            await admin.close()

    async def partitions(self, topics: Iterable[str]) -> list[TopicPartition]:
        wanted = sorted(set(topics))
        missing = [t for t in wanted if t not in self._partitions]
        if missing:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap,
                                        request_timeout_ms=int(TIMEOUT * 1000))
            await admin.start()
            try:
                for described in await admin.describe_topics(missing):
                    if described.get("error_code", 0) == 0 and described["partitions"]:
                        self._partitions[described["topic"]] = [
                            TopicPartition(described["topic"], p["partition"])
                            for p in described["partitions"]]
            finally:
                await admin.close()
        return [tp for t in wanted for tp in self._partitions.get(t, [])]

    async def _end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap,
                                    request_timeout_ms=int(TIMEOUT * 1000))
        await consumer.start()
        try:
            return await consumer.end_offsets(partitions)
        finally:
            await consumer.stop()

    async def event_ids(self, topics: Iterable[str]) -> dict[str, Counter[str]]:
        """Per topic, how often each ce_id is on it (a record without one counts as '')."""
        partitions = await self.partitions(topics)
        found: dict[str, Counter[str]] = {t: Counter() for t in topics}
        if not partitions:
            return found
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    max_partition_fetch_bytes=8 * 1024 * 1024)
        await consumer.start()
        try:
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
            for tp in partitions:  # explicit: seek_to_beginning may leave the end position
                consumer.seek(tp, starts[tp])
            pending = {tp for tp in partitions if ends[tp] > starts[tp]}
            while pending:
                batches = await consumer.getmany(*pending, timeout_ms=1000, max_records=10_000)
                for tp, records in batches.items():
                    for record in records:
                        ce_id = dict(record.headers or ()).get("ce_id", b"")
                        found[tp.topic][ce_id.decode()] += 1
                pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
            return found
        finally:
            await consumer.stop()
