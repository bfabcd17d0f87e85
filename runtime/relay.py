"""The outbox relay: publishes outbox rows to Kafka, in id order, then deletes them.

- One active relay per service: the instance holding the advisory lock publishes; the others
  wait on the lock, ready to take over when its session ends.
- Order per key: rows are sent in id order through one idempotent producer (acks=all), so a
  retried send can neither duplicate nor reorder records within a partition.
- Polls the outbox every `poll_seconds` (20 ms by default) and drains it while batches come
  back full. Not LISTEN/NOTIFY: a NOTIFY serialises the commits of every writer on one
  database-wide lock held through the WAL flush (runtime/sql/0003).
- A row is deleted only after Kafka acknowledged it. A relay that dies in between leaves at
  most its last batch in the outbox, already published; whoever takes over first reads the
  tail of those rows' topics and deletes the rows whose event id is there, so each event is
  published once. It waits `settle_seconds` first, for requests the dead producer had in
  flight to land; consumers' inboxes absorb anything later still.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import asyncpg
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.propagate import extract, inject

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

_NEXT = """
SELECT id, topic, key, value, header_names, header_values
FROM outbox ORDER BY id LIMIT $1
"""
_IN_DOUBT = """
SELECT id, topic, header_values[array_position(header_names, 'ce_id')] AS ce_id
FROM outbox ORDER BY id LIMIT $1
"""
_DELETE = "DELETE FROM outbox o USING unnest($1::bigint[]) AS p (id) WHERE o.id = p.id"
_BACKLOG = "SELECT count(*), extract(epoch FROM now() - min(created_at)) FROM outbox"


class OutboxRelay:
    def __init__(self, *, database_url: str, schema: str, producer: AIOKafkaProducer,
                 bootstrap_servers: str, batch_size: int = 2_000, poll_seconds: float = 0.02,
                 topic_prefix: str = "", settle_seconds: float = 1.0) -> None:
        self._database_url = database_url
        self._bootstrap_servers = bootstrap_servers
        self._settle_seconds = settle_seconds
        self._schema = schema
        self._producer = producer
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._topic_prefix = topic_prefix
        self.active = False

    async def run(self) -> None:
        """Run until cancelled, surviving database and broker outages."""
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._set_active(False)
                level = logging.WARNING if is_transient(exc) else logging.ERROR
                log.log(level, "outbox relay interrupted: %r; restarting in 2s", exc,
                        exc_info=level == logging.ERROR)
                await asyncio.sleep(2)

    async def _run_once(self) -> None:
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
                while await self._publish_batch(conn) == self._batch_size:
                    pass  # a full batch: more is waiting
                if time.monotonic() >= next_report:  # a scan of the outbox: once a second
                    await self._report_backlog(conn)
                    next_report = time.monotonic() + 1.0
                await asyncio.sleep(self._poll_seconds)
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
        """Delete the rows of the first batch (the only one a predecessor can have left
        behind published) whose event is already on its topic."""
        rows = [r for r in await conn.fetch(_IN_DOUBT, self._batch_size) if r["ce_id"]]
        if not rows:
            return
        await asyncio.sleep(self._settle_seconds)
        published = await recent_event_ids(
            self._bootstrap_servers, {self._topic_prefix + r["topic"] for r in rows},
            per_partition=self._batch_size)
        done = [r["id"] for r in rows
                if (self._topic_prefix + r["topic"], r["ce_id"].decode()) in published]
        if done:
            await conn.execute(_DELETE, done)
            OUTBOX_ALREADY_PUBLISHED.inc(len(done))
            log.warning("outbox relay: %d rows were published before the last relay stopped;"
                        " deleted without sending them again", len(done))

    def _set_active(self, active: bool) -> None:
        self.active = active
        RELAY_ACTIVE.set(1 if active else 0)

    async def _publish_batch(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(_NEXT, self._batch_size)
        if not rows:
            return 0
        sends = []
        for row in rows:
            topic = self._topic_prefix + row["topic"]
            headers = list(zip(row["header_names"], row["header_values"], strict=True))
            headers = self._with_publish_span(topic, headers)
            sends.append(await self._producer.send(
                topic, value=row["value"], key=row["key"], headers=headers))
        await asyncio.gather(*sends)
        await conn.execute(_DELETE, [row["id"] for row in rows])
        for row in rows:
            OUTBOX_PUBLISHED.labels(row["topic"]).inc()
        return len(rows)

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
