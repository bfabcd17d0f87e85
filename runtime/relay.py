"""The outbox relay: publishes outbox rows to Kafka, in id order, then deletes them.

- One active relay per service: the instance holding the advisory lock publishes; the others
  wait on the lock, ready to take over when its session ends.
- Order per key: a row holds the records of one transaction in order (runtime/outbox.py);
  rows are read in id order and their records sent in order through one idempotent producer
  (acks=all), so a retried send can neither duplicate nor reorder records within a
  partition. A batch is whole rows, up to about `batch_size` records.
- At once: when this process commits outbox rows, the unit of work wakes its relay
  (runtime/outbox.py `committed`), which publishes them without waiting for a poll, after
  `linger_seconds` (2 ms by default) in which more commits join the batch: under load a
  read, a send and a delete per commit would cost more than the work that wrote the row.
  An event a request waits for (a saga's hop: `Event.awaited` in contracts/base.py) cuts
  the linger short. Rows written by other processes (another instance, while this one
  stands by) are found by the poll, every `poll_seconds` (20 ms by default); it drains
  while batches come back full.
  Not LISTEN/NOTIFY: a NOTIFY serialises the commits of every writer on one database-wide
  lock held through the WAL flush (runtime/sql/0003).
- A row is deleted only after Kafka acknowledged all its records. A relay that dies in
  between leaves at most its last batch in the outbox, already published in whole or in
  part; whoever takes over first reads the tail of those records' topics, deletes the rows
  whose every record is there and skips, in the rest, the records that are, so each event is
  published once. It waits `settle_seconds` first, for requests the dead producer had in
  flight to land; consumers' inboxes absorb anything later still (and a record without a
  `ce_id`, which cannot be looked for, is sent again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter

import asyncpg
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.trace import TracerProvider

from . import outbox
from .kafka import recent_event_ids
from .metrics import (
    OUTBOX_ALREADY_PUBLISHED,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISHED,
    RELAY_ACTIVE,
)
from .retry import is_transient

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

# Whole rows in id order, up to the one that reaches `$1` records (at most `$1` rows). A row
# written before runtime/sql/0005 holds one record in topic/key/value.
_NEXT = """
WITH head AS (
    SELECT id, sum(records) OVER (ORDER BY id) - records AS before
      FROM (SELECT id, coalesce(records, 1) AS records FROM outbox ORDER BY id LIMIT $1) r
)
SELECT o.id, coalesce(o.topics, ARRAY[o.topic]) AS topics,
       coalesce(o.keys, ARRAY[o.key]) AS keys, coalesce(o.payloads, ARRAY[o.value]) AS payloads,
       o.header_names, o.header_values,
       coalesce(o.header_counts, ARRAY[cardinality(o.header_names)]) AS header_counts
  FROM head JOIN outbox o USING (id)
 WHERE head.before < $1
 ORDER BY o.id
"""
_DELETE = "DELETE FROM outbox o USING unnest($1::bigint[]) AS p (id) WHERE o.id = p.id"
_BACKLOG = ("SELECT coalesce(sum(coalesce(records, 1)), 0),"
            " extract(epoch FROM now() - min(created_at)) FROM outbox")


class OutboxRelay:
    def __init__(self, *, database_url: str, schema: str, producer: AIOKafkaProducer,
                 bootstrap_servers: str, batch_size: int, poll_seconds: float,
                 linger_seconds: float, topic_prefix: str = "",
                 settle_seconds: float = 1.0) -> None:
        # batch_size, poll_seconds and linger_seconds come from runtime/settings.py, the one
        # place their defaults are written.
        self._database_url = database_url
        self._bootstrap_servers = bootstrap_servers
        self._settle_seconds = settle_seconds
        self._schema = schema
        self._producer = producer
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._linger_seconds = linger_seconds
        self._topic_prefix = topic_prefix
        #: (topic, ce_id) of records a predecessor published, in rows it left behind.
        self._already_sent: set[tuple[str, str]] = set()
        self.active = False

    async def run(self) -> None:
        """Run until cancelled, surviving database and broker outages."""
        wake = outbox.wake_up(self._schema)  # the service's name is its schema's
        try:
            while True:
                try:
                    await self._run_once(wake)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._set_active(False)
                    level = logging.WARNING if is_transient(exc) else logging.ERROR
                    log.log(level, "outbox relay interrupted: %r; restarting in 2s", exc,
                            exc_info=level == logging.ERROR)
                    await asyncio.sleep(2)
        finally:
            outbox.forget(self._schema, wake)

    async def _run_once(self, wake: outbox.WakeUp) -> None:
        conn = await asyncpg.connect(
            self._database_url, server_settings={"search_path": self._schema,
                                                 "application_name": f"{self._schema}-relay"})
        try:
            await self._wait_for_lock(conn)
            await self._forget_published(conn)
            self._set_active(True)
            log.info("outbox relay active for schema %s", self._schema)
            next_report = 0.0
            while True:
                wake.clear()  # a commit from now on wakes it again
                while await self._publish_batch(conn) >= self._batch_size:
                    pass  # a full batch: more is waiting
                if time.monotonic() >= next_report:  # a scan of the outbox: once a second
                    await self._report_backlog(conn)
                    next_report = time.monotonic() + 1.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.rows.wait(), self._poll_seconds)
                if wake.rows.is_set() and self._linger_seconds:  # let more commits join
                    with contextlib.suppress(TimeoutError):  # unless a request waits
                        await asyncio.wait_for(wake.awaited.wait(), self._linger_seconds)
        finally:
            self._set_active(False)
            with contextlib.suppress(Exception):
                await asyncio.shield(conn.close(timeout=2))

    async def _wait_for_lock(self, conn: asyncpg.Connection) -> None:
        # Session-level lock: released by PostgreSQL if this process dies.
        while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))",
                                      f"{self._schema}.outbox_relay"):
            await asyncio.sleep(1.0)

    async def _forget_published(self, conn: asyncpg.Connection) -> None:
        """Of the first batch (the only one a predecessor can have left behind published),
        delete the rows whose every record is already on its topic, and remember the
        records that are in the others, not to send them again."""
        self._already_sent = set()
        rows = await conn.fetch(_NEXT, self._batch_size)
        in_doubt = {row["id"]: [(self._topic_prefix + r.topic, dict(r.headers).get("ce_id"))
                                for r in outbox.records_of(row)] for row in rows}
        if not any(ce_id for records in in_doubt.values() for _, ce_id in records):
            return
        await asyncio.sleep(self._settle_seconds)
        published = await recent_event_ids(
            self._bootstrap_servers, {topic for records in in_doubt.values()
                                      for topic, _ in records},
            per_partition=max(self._batch_size, sum(map(len, in_doubt.values()))))
        sent = {(topic, ce_id.decode()) for records in in_doubt.values()
                for topic, ce_id in records if ce_id}
        sent &= published
        done = [id_ for id_, records in in_doubt.items()
                if all(ce_id and (topic, ce_id.decode()) in sent for topic, ce_id in records)]
        if done:
            await conn.execute(_DELETE, done)
        self._already_sent = sent
        if sent:
            OUTBOX_ALREADY_PUBLISHED.inc(len(sent))
            log.warning("outbox relay: %d records were published before the last relay"
                        " stopped; not sent again", len(sent))

    def _set_active(self, active: bool) -> None:
        self.active = active
        RELAY_ACTIVE.set(1 if active else 0)

    async def _publish_batch(self, conn: asyncpg.Connection) -> int:
        """Publish the next batch of rows; returns how many records they held."""
        rows = await conn.fetch(_NEXT, self._batch_size)
        if not rows:
            return 0
        sends, topics, records = [], Counter(), 0
        # Not tracing (no SDK): no publish span, and the records' own contexts go on.
        tracing = isinstance(trace.get_tracer_provider(), TracerProvider)
        for row in rows:
            for record in outbox.records_of(row):
                records += 1
                topic = self._topic_prefix + record.topic
                if self._already_sent and self._was_sent(topic, record.headers):
                    continue
                topics[record.topic] += 1
                headers = (self._with_publish_span(topic, record.headers) if tracing
                           else record.headers)
                sends.append(await self._producer.send(
                    topic, value=record.value, key=record.key, headers=headers))
        await asyncio.gather(*sends)
        await conn.execute(_DELETE, [row["id"] for row in rows])
        self._already_sent = set()  # those rows are gone
        for topic, n in topics.items():
            OUTBOX_PUBLISHED.labels(topic).inc(n)
        return records

    def _was_sent(self, topic: str, headers: list[tuple[str, bytes]]) -> bool:
        ce_id = dict(headers).get("ce_id")
        return ce_id is not None and (topic, ce_id.decode()) in self._already_sent

    @staticmethod
    def _with_publish_span(topic: str, headers: list[tuple[str, bytes]]):
        """Continue the trace of the event that caused this record across the outbox."""
        carrier = {k: v.decode() for k, v in headers if k in ("traceparent", "tracestate")}
        if not carrier:
            return headers
        with tracer.start_as_current_span(
            f"{topic} publish", context=extract(carrier), kind=trace.SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": topic},
        ):
            new: dict[str, str] = {}
            inject(new)
        if not new:
            return headers
        kept = [(k, v) for k, v in headers if k not in ("traceparent", "tracestate")]
        return kept + [(k, v.encode()) for k, v in new.items()]

    async def _report_backlog(self, conn: asyncpg.Connection) -> None:
        count, age = await conn.fetchrow(_BACKLOG)
        OUTBOX_BACKLOG.set(count)
        OUTBOX_OLDEST_AGE.set(float(age or 0))


async def wait_until_drained(pool: asyncpg.Pool, timeout: float = 30) -> None:
    """For tests and benchmarks: until every outbox row has been published."""
    deadline = time.monotonic() + timeout
    while await pool.fetchval("SELECT count(*) FROM outbox"):
        if time.monotonic() > deadline:
            raise TimeoutError("outbox not drained")
        await asyncio.sleep(0.05)
