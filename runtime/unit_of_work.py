"""One database transaction and what it causes: the only way anything reaches the outbox.

Consumers, HTTP routes, jobs and the notification sender all work the same way:

    async with unit_of_work(pool, service="points") as uow:
        rows = await sql.load(uow.conn, ...)       # load
        decision = domain.decide(rows)             # decide (pure)
        await sql.save(uow.conn, decision)         # save
        uow.emit(PointsEarned(...), cause)         # emit: written to the outbox at commit

(or emit first, then `await uow.execute(save_sql, ...)`: the save statement writes the
outbox rows too, one round trip fewer on a hot path; `one_statement` is such a unit without a
transaction block: its one statement commits on its own).

`emit` gives every event a deterministic id (`event_id`: the same cause or business key
always gives the same id, so reprocessing publishes nothing new downstream), the service's
CloudEvents source, the member as subject, and the cause's trace. `dead_letter` parks a
record that can never succeed on `<topic>.dlq.<group>` with the full set of `dlq_*` headers.
Once a unit that wrote outbox rows has committed, this process's relay is woken to publish
them at once (runtime/outbox.py `committed`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

import asyncpg
from aiokafka import ConsumerRecord

from contracts.base import Event
from contracts.envelope import EncodedEvent, Envelope, encode
from contracts.topics import dead_letter_topic

from . import metrics, outbox
from .retry import is_transient
from .telemetry import current_traceparent

if TYPE_CHECKING:
    from .consumer import Inbound


def source_of(service: str) -> str:
    """A service's CloudEvents source."""
    return f"urn:loyalty:{service}"


@cache
def _namespace(source: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, source)


def event_id(source: str, *key: object) -> str:
    """The one deterministic-id scheme: a UUIDv5 of the business key (its parts joined with
    ':') in the namespace of the source that publishes it."""
    return str(uuid.uuid5(_namespace(source), ":".join(map(str, key))))


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record kept in a table (e.g. a refund parked for its purchase), to dead-letter
    later with the same headers as a consumed one (it has a ConsumerRecord's fields)."""

    topic: str
    partition: int | None
    offset: int | None
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] | None


class UnitOfWork:
    def __init__(self, conn: asyncpg.Connection, *, service: str, topic: str | None = None,
                 group: str | None = None) -> None:
        self.conn = conn
        self.service = service
        self.source = source_of(service)
        #: Defaults for dead letters: the contract topic consumed and the consumer group.
        self.topic = topic
        self.group = group or service
        self._out: list[EncodedEvent] = []
        self._per_cause: Counter[str] = Counter()
        #: Inbox keys of the consumed events this unit dead-lettered (`reject`).
        self.rejected: set[str] = set()
        #: What it emitted and the dead-letter topics it wrote to: counted once committed.
        self.emitted: list[Event] = []
        self.dead_lettered: list[str] = []
        #: Records written to the outbox so far (its relay is woken at commit if any).
        self.written = 0

    # ------------------------------------------------------------------ what it causes

    def emit(self, event: Event, cause: Inbound | Envelope | None = None, *,
             key: object = None, time: datetime | None = None) -> str:
        """Publish `event` when the transaction commits; returns its id.

        The id is derived from `key` (a business key: a string or a tuple of parts) when
        given, else from the cause's id and the event's type (the n-th event of a type for
        one cause gets n), else it is random (a fact with neither, e.g. a staff action)."""
        envelope = cause.envelope if cause is not None and hasattr(cause, "envelope") else cause
        if key is not None:
            parts = key if isinstance(key, tuple) else (key,)
            id_ = event_id(self.source, *parts)
        elif envelope is not None:
            name = f"{envelope.id}:{event.ce_type}"
            id_ = event_id(self.source, name, self._per_cause[name])
            self._per_cause[name] += 1
        else:
            id_ = str(uuid.uuid4())
        # A cause's trace goes on; without one, the current span's (a request, a job).
        self._out.append(encode(event, source=self.source, id=id_, time=time,
                                traceparent=envelope.traceparent if envelope
                                else current_traceparent()))
        self.emitted.append(event)
        return id_

    def tombstone(self, topic: str, key: str, *, after: str) -> None:
        """A record without a value for `key` on the compacted contract topic `topic`, when
        the transaction commits: compaction then drops every earlier record of the key, and
        consumers skip it. `after` is the id of the event it follows (its own id derives
        from it, so a relay restart does not send it twice)."""
        self._out.append(EncodedEvent(topic=topic, key=key.encode(), value=None,  # type: ignore[arg-type]
                                      headers=[("ce_id", f"{after}:tombstone".encode())]))

    def dead_letter(self, record: ConsumerRecord | StoredRecord, reason: str, error: str, *,
                    topic: str | None = None, group: str | None = None) -> None:
        """Park `record` (from the contract topic `topic`) on its dead-letter topic with its
        original key, value and headers, plus why."""
        topic = topic or self.topic
        if topic is None:
            raise ValueError("a dead letter needs the contract topic its record came from")
        group = group or self.group
        error_headers = {
            "dlq_reason": reason[:1000],
            "dlq_error": error,
            "dlq_original_topic": record.topic,
            "dlq_original_partition": "" if record.partition is None else str(record.partition),
            "dlq_original_offset": "" if record.offset is None else str(record.offset),
            "dlq_consumer_group": group,
            "dlq_service": self.service,
            "dlq_failed_at": datetime.now(UTC).isoformat(),
        }
        self.dead_lettered.append(dead_letter_topic(topic, group))
        self._out.append(EncodedEvent(
            topic=dead_letter_topic(topic, group), key=record.key, value=record.value or b"",
            headers=[*(record.headers or ()),
                     *((name, value.encode()) for name, value in error_headers.items())]))

    def reject(self, inbound: Inbound, reason: str) -> None:
        """A consumed event that can never succeed: dead-lettered, and not counted applied."""
        if inbound.record is None:
            raise ValueError("only a consumed event can be rejected")
        self.dead_letter(inbound.record, reason, "rejected")
        self.rejected.add(inbound.envelope.id)

    @property
    def pending(self) -> tuple[EncodedEvent, ...]:
        """Records emitted or dead-lettered so far, not yet written (as they will be)."""
        return tuple(self._out)

    # ------------------------------------------------------------------ the transaction

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[UnitOfWork]:
        """A nested transaction: if it fails, what it emitted goes with it."""
        out, counts, rejected = list(self._out), self._per_cause.copy(), set(self.rejected)
        marks = len(self.emitted), len(self.dead_lettered), self.written
        try:
            async with self.conn.transaction():
                yield self
        except BaseException:
            self._out = out  # what it wrote (`execute`, `flush`) was rolled back too
            del self.emitted[marks[0]:], self.dead_lettered[marks[1]:]
            self.written = marks[2]
            self._per_cause, self.rejected = counts, rejected
            raise

    async def flush(self) -> int:
        """Write what was emitted to the outbox (done at commit; call it earlier only to
        keep the order of writes in one statement's reach)."""
        out, self._out = self._out, []
        written = await outbox.write(self.conn, out)
        self.written += written
        return written

    async def execute(self, statement: str, *args: object) -> str:
        """`statement` with what was emitted so far written to the outbox by the same
        statement (a round trip fewer than `flush` at commit): emit, then save."""
        out, self._out = self._out, []
        query, values = outbox.with_rows(statement, args, out)
        status = await self.conn.execute(query, *values)
        self.written += len(out)
        return status

    def committed(self) -> None:
        """Count what was emitted, and wake this process's relay to publish what was
        written (no poll interval on the hot path): at once if a request waits for it."""
        if self.written:
            outbox.committed(self.service,
                             awaited=any(type(e).awaited for e in self.emitted))
        metrics.committed(self.emitted, self.dead_lettered)


@asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection, closed rather than handed back when its state is unknown."""
    conn = await pool.acquire()
    try:
        yield conn
    except BaseException as exc:
        # After a cancellation or a lost connection its state is unknown (it may have been
        # cut under a running query): close it rather than hand it back to the pool. A
        # refusal or a constraint error rolled back cleanly and leaves it usable.
        if not isinstance(exc, Exception) or is_transient(exc):
            with contextlib.suppress(asyncpg.InterfaceError):  # already lost and detached
                conn.terminate()
        raise
    finally:
        # Returning it may fail if the connection was cut after the commit; asyncpg then
        # closes it, and the work (committed or not) must not fail because of that.
        with contextlib.suppress(asyncpg.InterfaceError, asyncpg.InternalClientError, OSError):
            await pool.release(conn)


@asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool, *, service: str, topic: str | None = None,
                       group: str | None = None) -> AsyncIterator[UnitOfWork]:
    """A connection, a transaction on it, and the outbox written just before the commit."""
    async with connection(pool) as conn:
        async with conn.transaction():
            uow = UnitOfWork(conn, service=service, topic=topic, group=group)
            yield uow
            await uow.flush()
        uow.committed()


@asynccontextmanager
async def one_statement(conn: asyncpg.Connection, *, service: str) -> AsyncIterator[UnitOfWork]:
    """A unit of work that is one statement outside a transaction block (autocommit): what
    it emits goes out with that statement (`execute`), which commits on its own; no BEGIN
    and COMMIT round trips."""
    uow = UnitOfWork(conn, service=service)
    yield uow
    if uow.pending:
        raise RuntimeError("one_statement: what was emitted goes out with execute()")
    uow.committed()
