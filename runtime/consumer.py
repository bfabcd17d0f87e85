"""One consumed batch, from Kafka records to one committed database transaction.

1. Decode and validate every record. One that can never succeed (bad envelope, bad JSON,
   schema-invalid, unknown type) becomes a dead letter; the batch goes on.
2. In ONE transaction: claim the event ids in the inbox (duplicates drop out), let the
   service's handler apply the fresh events set-wise, and write the handler's outgoing
   events and the dead letters to the outbox.
3. Return; the subscriber then commits the offsets. A crash before that means redelivery,
   which the inbox absorbs.

If the handler fails on the batch for a reason that is not transient, the batch is replayed
event by event (each in a savepoint) so that only the events that fail are dead-lettered.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import asyncpg
from aiokafka import ConsumerRecord
from pydantic import ValidationError

from contracts.base import Event
from contracts.envelope import EncodedEvent, Envelope, EnvelopeError, encode
from contracts.topics import dead_letter_topic

from . import inbox, outbox
from .kafka import record_lag
from .metrics import BATCH_SECONDS, BATCH_SIZE, EVENTS
from .retry import is_transient, retry_transient

log = logging.getLogger(__name__)
E = TypeVar("E", bound=Event)


@dataclass(frozen=True, slots=True)
class Inbound(Generic[E]):
    """A decoded, validated event with its envelope."""

    event: E
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event a handler wants published, and the inbound event that caused it (for its
    deterministic id and its trace)."""

    event: Event
    cause: Inbound | None = None
    id: str | None = None


@dataclass
class Outcome:
    """What a handler decided for a batch."""

    events: list[Outgoing] = field(default_factory=list)
    #: Events that can never succeed, with the reason operations will read.
    rejected: list[tuple[Inbound, str]] = field(default_factory=list)


Handler = Callable[[asyncpg.Connection, list[Inbound]], Awaitable[Outcome]]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    record: ConsumerRecord
    reason: str
    error: str


@dataclass
class _Decoded:
    """A batch after decoding: valid events and dead letters, both keyed by inbox key."""

    events: dict[str, tuple[ConsumerRecord, Inbound]] = field(default_factory=dict)
    dead: dict[str, DeadLetter] = field(default_factory=dict)
    ignored: int = 0
    duplicates: int = 0


@dataclass(frozen=True, slots=True)
class BatchReport:
    applied: int
    duplicates: int
    ignored: int
    dead_lettered: int


class BatchProcessor:
    def __init__(
        self,
        *,
        service: str,
        topic: str,
        group: str,
        pool: asyncpg.Pool,
        handler: Handler,
        models: Mapping[str, type[Event]],
        ignored_types: frozenset[str] = frozenset(),
    ) -> None:
        self.service = service
        self.topic = topic
        self.group = group
        self._pool = pool
        self._handler = handler
        self._models = dict(models)
        self._ignored = ignored_types
        self._source = f"urn:loyalty:{service}"
        self._dlq_topic = dead_letter_topic(topic, group)
        self._uuid_namespace = uuid.uuid5(uuid.NAMESPACE_URL, self._source)
        #: Called after each database commit, before the offsets are committed (tests).
        self.after_commit: list[Callable[[BatchReport], Any]] = []

    async def consume(self, message: Any) -> BatchReport:
        """Entry point for a FastStream batch subscriber (`message` is its KafkaMessage)."""
        raw = message.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        report = await self.process(records)
        record_lag(message.consumer, records, self.group)
        return report

    async def process(self, records: Sequence[ConsumerRecord]) -> BatchReport:
        started = time.perf_counter()
        batch = self._decode(records)
        report = await retry_transient(f"{self.group}:{self.topic}", lambda: self._apply(batch))
        BATCH_SECONDS.labels(self.topic, self.group).observe(time.perf_counter() - started)
        BATCH_SIZE.labels(self.topic, self.group).observe(len(records))
        for outcome in ("applied", "duplicates", "ignored", "dead_lettered"):
            if count := getattr(report, outcome):
                EVENTS.labels(self.topic, self.group, outcome.removesuffix("s")).inc(count)
        for hook in self.after_commit:
            hook(report)
        return report

    # ------------------------------------------------------------------ decoding

    def _decode(self, records: Sequence[ConsumerRecord]) -> _Decoded:
        batch = _Decoded()
        decoded, dead = batch.events, batch.dead
        for record in records:
            try:
                envelope = Envelope.from_headers(record.headers)
            except EnvelopeError as exc:
                dead[_record_key(record)] = DeadLetter(record, str(exc), "invalid_envelope")
                continue
            if envelope.id in decoded or envelope.id in dead:
                batch.duplicates += 1  # the same event twice in one batch
                continue
            model = self._models.get(envelope.type)
            if model is None:
                if envelope.type in self._ignored:
                    batch.ignored += 1
                else:
                    dead[envelope.id] = DeadLetter(
                        record, f"unknown event type {envelope.type!r} on {record.topic}",
                        "unknown_type")
                continue
            try:
                event = model.model_validate_json(record.value or b"")
            except ValidationError as exc:
                dead[envelope.id] = DeadLetter(record, _summarise(exc), "invalid_data")
                continue
            decoded[envelope.id] = (record, Inbound(event, envelope))
        return batch

    # ------------------------------------------------------------------ the transaction

    async def _apply(self, batch: _Decoded) -> BatchReport:
        conn = await self._pool.acquire()
        try:
            async with conn.transaction():
                return await self._apply_in(conn, batch)
        except BaseException:
            # After a failure mid-transaction the connection's state is unknown (it may have
            # been cut under a running query): close it rather than hand it back to the pool.
            with contextlib.suppress(asyncpg.InterfaceError):  # already lost and detached
                conn.terminate()
            raise
        finally:
            # Returning it may fail if the connection was cut after the commit; asyncpg then
            # closes it, and the batch (committed or not) must not fail because of that.
            with contextlib.suppress(asyncpg.InterfaceError, asyncpg.InternalClientError, OSError):
                await self._pool.release(conn)

    async def _apply_in(self, conn: asyncpg.Connection, batch: _Decoded) -> BatchReport:
        decoded, dead = batch.events, batch.dead
        fresh_ids = await inbox.claim(conn, [*decoded, *dead], self.topic)
        fresh = [inbound for key, (_, inbound) in decoded.items() if key in fresh_ids]
        records = {key: record for key, (record, _) in decoded.items()}
        letters = [letter for key, letter in dead.items() if key in fresh_ids]

        outcome = await self._handle(conn, fresh, records, letters)
        for inbound, reason in outcome.rejected:
            letters.append(DeadLetter(records[inbound.envelope.id], reason, "rejected"))
        outgoing = self._encode_all(outcome.events)
        await outbox.write(conn, outgoing + [self._dead_letter(d) for d in letters])
        rejected_ids = {i.envelope.id for i, _ in outcome.rejected}
        return BatchReport(
            applied=len(fresh) - len(rejected_ids),
            duplicates=len(decoded) + len(dead) - len(fresh_ids) + batch.duplicates,
            ignored=batch.ignored,
            dead_lettered=len(letters),
        )

    async def _handle(self, conn, fresh: list[Inbound], records, letters) -> Outcome:
        if not fresh:
            return Outcome()
        try:
            async with conn.transaction():  # a savepoint: a failure leaves the inbox claim
                return await self._handler(conn, fresh)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("batch of %d failed (%r); isolating the failing events",
                        len(fresh), exc)
        outcome = Outcome()
        for inbound in fresh:
            try:
                async with conn.transaction():
                    single = await self._handler(conn, [inbound])
            except Exception as exc:
                if is_transient(exc):
                    raise
                log.exception("event %s failed; dead-lettering it", inbound.envelope.id)
                letters.append(DeadLetter(records[inbound.envelope.id],
                                          f"{type(exc).__name__}: {exc}"[:1000], "handler_error"))
                continue
            outcome.events.extend(single.events)
            outcome.rejected.extend(single.rejected)
        return outcome

    # ------------------------------------------------------------------ encoding

    def _encode_all(self, events: list[Outgoing]) -> list[EncodedEvent]:
        seen: Counter[str] = Counter()
        encoded = []
        for out in events:
            cause = out.cause.envelope if out.cause else None
            event_id = out.id
            if event_id is None and cause is not None:
                # Deterministic: reprocessing the same cause gives the same ids downstream.
                name = f"{cause.id}:{out.event.ce_type}"
                event_id = str(uuid.uuid5(self._uuid_namespace, f"{name}:{seen[name]}"))
                seen[name] += 1
            encoded.append(encode(out.event, source=self._source, id=event_id,
                                  traceparent=cause.traceparent if cause else None))
        return encoded

    def _dead_letter(self, letter: DeadLetter) -> EncodedEvent:
        record = letter.record
        error_headers = {
            "dlq_reason": letter.reason,
            "dlq_error": letter.error,
            "dlq_original_topic": record.topic,
            "dlq_original_partition": str(record.partition),
            "dlq_original_offset": str(record.offset),
            "dlq_consumer_group": self.group,
            "dlq_service": self.service,
            "dlq_failed_at": datetime.now(UTC).isoformat(),
        }
        return EncodedEvent(
            topic=self._dlq_topic,
            key=record.key,
            value=record.value or b"",
            headers=[*(record.headers or ()), *((k, v.encode()) for k, v in error_headers.items())],
        )


def _record_key(record: ConsumerRecord) -> str:
    """Inbox key of a record without a usable ce_id: its place in the log is stable."""
    return f"kafka:{record.topic}:{record.partition}:{record.offset}"


def _summarise(exc: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors()]
    return "; ".join(parts)[:1000]
