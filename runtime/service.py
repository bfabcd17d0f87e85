"""A service process: FastStream subscribers, the outbox relay and an HTTP server with
/health/live, /health/ready and /metrics (plus the service's own API routes)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from contracts.base import Event
from contracts.topics import dead_letter_topic

from . import db, inbox
from .consumer import BatchProcessor, Handler
from .kafka import ensure_topics, make_broker, make_producer
from .metrics import INBOX_PRUNED
from .periodic import repeat
from .relay import OutboxRelay
from .settings import Settings
from .subscriber import undecoded
from .telemetry import configure_logging, configure_tracing

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
        self._pool: asyncpg.Pool | None = None
        self._relay_task: asyncio.Task | None = None
        self._jobs: list[Callable[[], Awaitable[None]]] = [self._prune_inbox]
        self._job_tasks: list[asyncio.Task] = []
        self.broker = make_broker(settings.kafka_bootstrap_servers, name)
        self.relay: OutboxRelay | None = None
        self.http = FastAPI(title=f"loyalty {name}", lifespan=self._lifespan)
        self.http.add_api_route("/health/live", self._live, include_in_schema=False)
        self.http.add_api_route("/health/ready", self._ready, include_in_schema=False)
        self.http.add_api_route("/metrics", self._metrics, include_in_schema=False)

    def topic(self, name: str) -> str:
        """The Kafka name of the contract topic `name` for this service."""
        return self.topic_prefix + name

    def batch_options(self) -> dict:
        """How every subscriber of this service takes its batches (the ack policy is
        stated at each subscriber)."""
        s = self.settings
        return dict(batch=True, max_records=s.batch_max_records,
                    batch_timeout_ms=s.batch_timeout_ms, auto_offset_reset="earliest",
                    decoder=undecoded)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the service has not started")
        return self._pool

    def processor(self, topic: str, group: str, handler: Handler,
                  models: Mapping[str, type[Event]],
                  ignored_types: Iterable[str] = ()) -> BatchProcessor:
        """The batch path for one (topic, group); the pool is bound when the service starts.
        `topic` is the contract's name; subscribe to `self.topic(topic)`."""
        self._topics |= {topic, dead_letter_topic(topic, group)}
        return BatchProcessor(service=self.name, topic=topic, group=group,
                              pool=LazyPool(self), handler=handler, models=models,
                              ignored_types=frozenset(ignored_types))

    def background(self, job: Callable[[], Awaitable[None]]) -> None:
        """A coroutine function run from start() until stop() (periodic jobs, senders)."""
        self._jobs.append(job)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        s = self.settings
        self._pool = await db.create_pool(s.database_url, self.schema, max_size=s.db_pool_max)
        await db.migrate(self._pool, self.schema, db.migration_files(self._package_dir))
        await ensure_topics(s.kafka_bootstrap_servers, [self.topic(t) for t in self._topics],
                            s.topic_partitions)
        producer = make_producer(s.kafka_bootstrap_servers, self.name)
        await producer.start()
        self.relay = OutboxRelay(database_url=s.database_url, schema=self.schema,
                                 producer=producer, batch_size=s.relay_batch_size,
                                 poll_seconds=s.relay_poll_seconds,
                                 topic_prefix=self.topic_prefix)
        self._producer = producer
        self._relay_task = asyncio.create_task(self.relay.run(), name=f"{self.name}-relay")
        await self.broker.start()
        self._job_tasks = [asyncio.create_task(job(), name=f"{self.name}-{job.__name__}")
                           for job in self._jobs]
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
        if self._pool:
            await self._pool.close()
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
                        log_config=None, access_log=False)
        finally:
            tracer_provider.shutdown()  # flush spans still queued for export

    async def _prune_inbox(self) -> None:
        """Every instance prunes; the deletes are idempotent and chunked."""
        await repeat(self._prune_inbox_once, self.settings.inbox_prune_seconds, "inbox pruning")

    async def _prune_inbox_once(self) -> None:
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


class LazyPool:
    """A service's pool before it exists: processors, routes and jobs are built before the
    service starts. `attribute` names the pool on the service (rewards has a second one)."""

    def __init__(self, service: Service, attribute: str = "pool") -> None:
        self._service = service
        self._attribute = attribute

    def __getattr__(self, name: str):
        return getattr(getattr(self._service, self._attribute), name)
