"""A service process: FastStream subscribers, the outbox relay and an HTTP server with
/health/live, /health/ready and /metrics (plus the service's own API routes), its errors
answered `{code, message}` behind the edge guard of runtime/errors.py."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Union

import asyncpg
import uvicorn
from aiokafka.errors import CommitFailedError
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from faststream import AckPolicy
from faststream.kafka import KafkaMessage
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from contracts.base import Event
from contracts.registry import models_on
from contracts.topics import dead_letter_topic

from . import db, errors, inbox
from .consumer import BatchProcessor, Handler, parse_batch
from .http_metrics import HttpMetrics
from .kafka import RebalanceGate, ensure_topics, make_broker, make_producer, topic_config
from .metrics import INBOX_PRUNED, TRANSIENT_RETRIES
from .periodic import repeat
from .relay import OutboxRelay
from .settings import Settings
from .telemetry import configure_logging, configure_tracing
from .unit_of_work import UnitOfWork, source_of, unit_of_work

log = logging.getLogger(__name__)


class Service:
    """Everything a service needs at run time; its modules register subscribers on
    `self.broker` and routes on `self.http`, then `run()` starts it all."""

    def __init__(self, name: str, *, settings: Settings, package_dir: Path,
                 publishes: Iterable[str] = (), topic_prefix: str = "") -> None:
        self.name = name
        #: Put before every topic's name, in and out: services started under one prefix
        #: form a private world (tests).
        self.topic_prefix = topic_prefix
        self.settings = settings
        self.schema = name
        self._package_dir = package_dir
        self._topics = set(publishes)
        self._topic_configs: dict[str, dict[str, str]] = {}
        self._pool: asyncpg.Pool | None = None
        self._relay_task: asyncio.Task | None = None
        self._jobs: list[Callable[[], Awaitable[None]]] = []
        self._on_start: list[Callable[[], Awaitable[None]]] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        self._job_tasks: list[asyncio.Task] = []
        self.broker = make_broker(settings.kafka_bootstrap_servers, name)
        for topic in publishes:  # documentation (AsyncAPI): the relay publishes the outbox
            models = models_on(topic)
            self.broker.publisher(
                self.topic(topic), title=topic,
                schema=Union[tuple(models.values())],  # noqa: UP007
                description=f"Published through the outbox: {', '.join(sorted(models))}"
                            ". CloudEvents binary mode: ce_* headers, the event's JSON as value.")
        self.relay: OutboxRelay | None = None
        self.http = FastAPI(title=f"loyalty {name}", lifespan=self._lifespan)
        self.http.add_api_route("/health/live", self._live, include_in_schema=False)
        self.http.add_api_route("/health/ready", self._ready, include_in_schema=False)
        self.http.add_api_route("/metrics", self._metrics, include_in_schema=False)
        errors.install(self.http, max_body_bytes=settings.http_max_body_bytes,
                       max_header_bytes=settings.http_max_header_bytes)
        self.http.add_middleware(HttpMetrics, routes=lambda: self.http.routes)
        # Every instance prunes; the deletes are idempotent and chunked.
        self.every(settings.inbox_prune_seconds, self._prune_inbox, "inbox pruning")

    def topic(self, name: str) -> str:
        """The Kafka name of the contract topic `name` for this service."""
        return self.topic_prefix + name

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the service has not started")
        return self._pool

    @property
    def source(self) -> str:
        """The CloudEvents source of what this service publishes (its events' id namespace)."""
        return source_of(self.name)

    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A transaction of this service's and what it emits (runtime/unit_of_work.py)."""
        return unit_of_work(self.pool, service=self.name)

    def subscribe(self, topic: str, handler: Handler, *, consumes: Iterable[type[Event]],
                  consumers: int = 1, inbox: bool = True,
                  processor: Callable[..., BatchProcessor] = BatchProcessor) -> BatchProcessor:
        """Consume the contract topic `topic` in batches with `handler`, which applies the
        event types `consumes`. The other types the contracts put on the topic are skipped;
        a type no contract knows is dead-lettered. `consumers` subscribers of the group in
        this process share the partitions (one decodes while another waits for the
        database). `processor` makes the batch processor: a subclass decodes another wire
        format on a topic no contract names (adapters/fineract). `inbox=False`: the handler
        deduplicates by business key instead (runtime/consumer.py). The processor is
        returned for tests to watch its commits."""
        models = {model.ce_type: model for model in consumes}
        on_topic = models_on(topic)
        if strays := set(models) - set(on_topic):
            raise ValueError(f"{sorted(strays)} are not published on {topic}")
        self._topics |= {topic, dead_letter_topic(topic, self.name)}
        processor = processor(service=self.name, topic=topic, group=self.name,
                              pool=LazyPool(self), handler=handler, models=models,
                              ignored_types=frozenset(on_topic) - set(models), inbox=inbox)
        TRANSIENT_RETRIES.labels(f"{self.name}:{topic}")  # at 0 until the first retry

        s = self.settings
        for n in range(consumers):
            gate = RebalanceGate(f"{topic}:{self.name}")
            # Offsets are committed by the batch's own step (MANUAL): after the database
            # transaction, before a rebalance may hand the partitions on (RebalanceGate).
            # With INSTANCE_ID set the membership is static: a restarted instance gets its
            # partitions back at once, without a rebalance of the group.
            self.broker.subscriber(
                self.topic(topic), group_id=self.name, ack_policy=AckPolicy.MANUAL,
                batch=True, max_records=s.batch_max_records,
                batch_timeout_ms=s.batch_timeout_ms, auto_offset_reset="earliest",
                parser=parse_batch, decoder=_undecoded, listener=gate,
                group_instance_id=s.instance_id and f"{s.instance_id}.{topic}.{n}",
                title=f"{topic}:{self.name}", description=_describe(handler, models),
            )(_batch_step(processor, gate, models))
        return processor

    def configure_topic(self, topic: str, config: dict[str, str]) -> None:
        """Create and keep `topic` (one this service subscribes to or publishes, or a dead
        letter topic of it) with `config` rather than the contracts' settings for it."""
        self._topic_configs[topic] = dict(config)

    def on_start(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run once the database is migrated, before the consumers start (caches, listeners)."""
        self._on_start.append(hook)

    def on_stop(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run at stop, after the background tasks and consumers have stopped."""
        self._on_stop.append(hook)

    def background(self, job: Callable[[], Awaitable[None]]) -> None:
        """A coroutine function run from start() until stop() (senders, listeners)."""
        self._jobs.append(job)

    def every(self, seconds: float, task: Callable[[], Awaitable[object]], what: str) -> None:
        """Run `task` at start and then every `seconds` until stop; a failed round is logged
        and the next runs as planned (runtime/periodic.py)."""

        async def periodic() -> None:
            await repeat(task, seconds, what)

        periodic.__name__ = what.replace(" ", "-")
        self._jobs.append(periodic)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        s = self.settings
        self._pool = await db.create_pool(s.database_url, self.schema, max_size=s.db_pool_max)
        await db.migrate(self._pool, self.schema, db.migration_files(self._package_dir))
        await ensure_topics(s.kafka_bootstrap_servers, [self.topic(t) for t in self._topics],
                            s.topic_partitions,
                            {self.topic(t): self._topic_configs.get(t) or topic_config(t)
                             for t in self._topics})
        producer = make_producer(s.kafka_bootstrap_servers, self.name)
        await producer.start()
        self.relay = OutboxRelay(database_url=s.database_url, schema=self.schema,
                                 producer=producer, bootstrap_servers=s.kafka_bootstrap_servers,
                                 batch_size=s.relay_batch_size,
                                 poll_seconds=s.relay_poll_seconds,
                                 linger_seconds=s.relay_linger_seconds,
                                 topic_prefix=self.topic_prefix)
        self._producer = producer
        self._relay_task = asyncio.create_task(self.relay.run(), name=f"{self.name}-relay")
        for hook in self._on_start:
            await hook()
        # Jobs need the pool and the relay, not the consumers: they start first (joining
        # the consumer groups can take seconds).
        self._job_tasks = [asyncio.create_task(job(), name=f"{self.name}-{job.__name__}")
                           for job in self._jobs]
        # What start-up built (modules, models, clients) lasts as long as the process: kept
        # out of the cyclic collector's way. Each batch's objects outlive the young
        # generations while it is in flight, and set off a full collection every few
        # hundred milliseconds; walking the start-up objects each time was a fifth of a busy
        # consumer's CPU (tools/bench/points.py). Garbage first, so none is kept; before the
        # consumers join their groups, so the pause holds up no rebalance.
        gc.collect()
        gc.freeze()
        await self.broker.start()
        log.info("%s started", self.name)

    async def stop(self) -> None:
        for task in self._job_tasks:
            task.cancel()
        await asyncio.gather(*self._job_tasks, return_exceptions=True)
        await self.broker.stop()
        if self._relay_task:
            self._relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay_task
            await self._producer.stop()
        for hook in reversed(self._on_stop):
            await hook()
        if self._pool:
            await self._pool.close()
        gc.unfreeze()  # a process that starts services again and again (tests) frees them
        log.info("%s stopped", self.name)

    @asynccontextmanager
    async def _lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    def run(self) -> None:
        """The process's entry point: logging and tracing are process-wide, set up once here."""
        configure_logging(self.name, self.settings.log_level)
        tracer_provider = configure_tracing(self.name)
        try:
            uvicorn.run(self.http, host=self.settings.http_host, port=self.settings.http_port,
                        log_config=None, access_log=False,
                        h11_max_incomplete_event_size=self.settings.http_max_header_bytes)
        finally:
            if tracer_provider is not None:
                tracer_provider.shutdown()  # flush spans still queued for export

    async def _prune_inbox(self) -> None:
        pruned = await inbox.prune(self.pool, self.settings.inbox_retention_days)
        INBOX_PRUNED.inc(pruned)
        if pruned:
            log.info("pruned %d inbox ids older than %d days", pruned,
                     self.settings.inbox_retention_days)

    # ------------------------------------------------------------------ health

    async def _live(self) -> dict[str, str]:
        return {"status": "live"}

    async def _ready(self) -> Response:
        checks: dict[str, str] = {}
        try:
            await self.pool.fetchval("SELECT 1", timeout=2)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"failing: {type(exc).__name__}"
        checks["broker"] = "ok" if await self.broker.ping(timeout=2) else "failing"
        relay_alive = self._relay_task is not None and not self._relay_task.done()
        checks["outbox_relay"] = "ok" if relay_alive else "failing"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                            status_code=200 if ready else 503)

    async def _metrics(self) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def main(build: Callable[[str, str], Service], name: str) -> None:
    """A service process's entry point. SERVICE_NAME (its schema and consumer group; default
    `name`) and TOPIC_PREFIX (put before every topic's name) let one broker and database hold
    several copies of the platform side by side (chaos runs, benchmarks)."""
    service_name = os.environ.get("SERVICE_NAME") or name
    prefix = os.environ.get("TOPIC_PREFIX", "")
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", service_name):
        raise SystemExit(f"SERVICE_NAME {service_name!r}: lower-case letters, digits and _")
    if not re.fullmatch(r"[A-Za-z0-9._-]{0,100}", prefix):
        raise SystemExit(f"TOPIC_PREFIX {prefix!r}: letters, digits, '.', '_' and '-'")
    build(service_name, prefix).run()


def _batch_step(processor: BatchProcessor, gate: RebalanceGate,
                models: Mapping[str, type[Event]]) -> Callable[..., Awaitable[None]]:
    async def consume(events: list, message: KafkaMessage) -> None:
        async with gate:
            try:
                await processor.consume(message)
            except BaseException:
                await message.nack()  # the batch comes again
                raise
            try:
                await message.ack()
            except CommitFailedError:
                # The group moved on (e.g. this consumer was too slow): the next owner gets
                # these records again and its inbox absorbs them.
                log.warning("%s: batch applied but its offsets not committed (group"
                            " rebalanced)", processor.topic)

    # The signature FastStream documents (AsyncAPI): a batch of these events. The records
    # are not decoded by FastStream (`_undecoded`): the processor decodes each itself, so
    # one bad record cannot fail the batch.
    events = Union[tuple(models.values())] if models else bytes  # noqa: UP007
    consume.__annotations__ = {"events": list[events],
                               "message": KafkaMessage, "return": None}
    return consume


async def _undecoded(_message: KafkaMessage) -> list:
    return []


def _describe(handler: Handler, models: Mapping[str, type[Event]]) -> str:
    what = (handler.__doc__ or type(handler).__doc__ or "").strip().split("\n\n")[0]
    return f"{what}\n\nApplies: {', '.join(sorted(models))}.".strip()


class LazyPool:
    """A service's pool before it exists: processors, routes and jobs are built before the
    service starts. `attribute` names the pool on the service (rewards has a second one)."""

    def __init__(self, service: Service, attribute: str = "pool") -> None:
        self._service = service
        self._attribute = attribute

    def __getattr__(self, name: str):
        return getattr(getattr(self._service, self._attribute), name)
