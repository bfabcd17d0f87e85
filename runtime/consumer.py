"""One consumed batch, from Kafka records to one committed database transaction.

1. Decode and validate every record. One that can never succeed (bad envelope, bad JSON,
   schema-invalid, unknown type) becomes a dead letter; the batch goes on.
2. In ONE transaction: claim the event ids in the inbox (duplicates drop out), let the
   service's handler apply the fresh events set-wise, and write the handler's outgoing
   events and the dead letters to the outbox.
3. Return; the subscriber then commits the offsets. A crash before that means redelivery,
   which the inbox absorbs.

A subscription without the inbox (`inbox=False`) leaves deduplication to the handler's
business keys: every fact its events carry has one (a card transaction's id, a refund's id),
recorded with what it wrote, so a redelivered or re-sent event finds it and changes and
emits nothing (what it emitted the first time had deterministic ids). The handler returns
the keys of the events it found already applied (counted as duplicates), and must not
reject. Dead letters are still claimed in the inbox: they are written afresh each time
(their headers say when), so a redelivered bad record would be parked twice.

If the handler fails on the batch for a reason that is not transient, the batch is replayed
event by event (each in a savepoint) so that only the events that fail are dead-lettered.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import asyncpg
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError
from pydantic import ValidationError

from contracts.base import Event
from contracts.envelope import Envelope, EnvelopeError

from . import inbox
from .kafka import record_lag
from .metrics import BATCH_SECONDS, BATCH_SIZE, EVENTS
from .retry import is_transient, retry_transient
from .telemetry import process_spans
from .unit_of_work import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)
E = TypeVar("E", bound=Event)


@dataclass(frozen=True, slots=True)
class Inbound(Generic[E]):
    """A decoded, validated event with its envelope (and its Kafka record, when consumed)."""

    event: E
    envelope: Envelope
    record: ConsumerRecord | None = None


#: A service's batch handler: runs in the batch's unit of work on the fresh events; it emits
#: what they cause and rejects (dead-letters) what can never succeed. Subscribed without the
#: inbox, it returns the inbox keys of the events it found already applied.
Handler = Callable[[UnitOfWork, list[Inbound]], Awaitable[Collection[str] | None]]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    record: ConsumerRecord
    reason: str
    error: str


@dataclass
class Decoded:
    """A batch after decoding: valid events and dead letters, both keyed by inbox key."""

    events: dict[str, Inbound] = field(default_factory=dict)
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
        inbox: bool = True,
    ) -> None:
        self.service = service
        self.topic = topic
        self.group = group
        self._pool = pool
        self._handler = handler
        self._models = dict(models)
        self._ignored = ignored_types
        self._inbox = inbox
        #: Called after each database commit, before the offsets are committed (tests).
        self.after_commit: list[Callable[[BatchReport], Any]] = []

    async def consume(self, message: Any) -> BatchReport:
        """Entry point for a FastStream batch subscriber (`message` is its KafkaMessage)."""
        raw = message.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        # Records of partitions a rebalance took away while they waited belong to the new
        # owner now (which reads them from the last committed offset).
        # (A plain tuple equals its TopicPartition and hashes the same: none built per record.)
        assigned = message.consumer.assignment()
        records = [r for r in records if (r.topic, r.partition) in assigned]
        records = await _not_rewound(message.consumer, records)
        if not records:
            return BatchReport(0, 0, 0, 0)
        report = await self.process(records)
        record_lag(message.consumer, records, self.group)
        return report

    async def process(self, records: Sequence[ConsumerRecord]) -> BatchReport:
        started = time.perf_counter()
        batch = self._decode(records)
        # Spans name the topic as the broker knows it (a copy's prefix included).
        with process_spans(records[0].topic if records else self.topic, self.group, {
                key: (inbound.envelope, inbound.record)
                for key, inbound in batch.events.items()}) as traceparents:
            for key, traceparent in traceparents.items():  # what it causes continues here
                inbound = batch.events[key]
                batch.events[key] = replace(
                    inbound, envelope=replace(inbound.envelope, traceparent=traceparent))
            report = await retry_transient(f"{self.group}:{self.topic}",
                                           lambda: self._apply(batch))
        BATCH_SECONDS.labels(self.topic, self.group).observe(time.perf_counter() - started)
        BATCH_SIZE.labels(self.topic, self.group).observe(len(records))
        for outcome in ("applied", "duplicates", "ignored", "dead_lettered"):
            if count := getattr(report, outcome):
                EVENTS.labels(self.topic, self.group, outcome.removesuffix("s")).inc(count)
        for hook in self.after_commit:
            hook(report)
        return report

    # ------------------------------------------------------------------ decoding

    def _decode(self, records: Sequence[ConsumerRecord]) -> Decoded:
        batch = Decoded()
        decoded, dead = batch.events, batch.dead
        for record in records:
            if record.value is None:  # a tombstone (UnitOfWork.tombstone): nothing to apply
                batch.ignored += 1
                continue
            try:
                envelope = Envelope.from_headers(record.headers)
            except EnvelopeError as exc:
                dead[record_key(record)] = DeadLetter(record, str(exc), "invalid_envelope")
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
            decoded[envelope.id] = Inbound(event, envelope, record)
        return batch

    # ------------------------------------------------------------------ the transaction

    async def _apply(self, batch: Decoded) -> BatchReport:
        async with unit_of_work(self._pool, service=self.service, topic=self.topic,
                                group=self.group) as uow:
            decoded, dead = batch.events, batch.dead
            fresh_ids = await inbox.claim(uow.conn, [*decoded, *dead] if self._inbox
                                          else list(dead), self.topic)
            fresh = [inbound for key, inbound in decoded.items()
                     if key in fresh_ids or not self._inbox]
            letters = [letter for key, letter in dead.items() if key in fresh_ids]
            for letter in letters:
                uow.dead_letter(letter.record, letter.reason, letter.error)
            failed, applied_before = await self._handle(uow, fresh)
            rejected = len(uow.rejected)
            return BatchReport(
                applied=len(fresh) - rejected - failed - applied_before,
                duplicates=(len(decoded) + len(dead) - len(fresh) - len(letters)
                            + applied_before + batch.duplicates),
                ignored=batch.ignored,
                dead_lettered=len(letters) + rejected + failed,
            )

    async def _handle(self, uow: UnitOfWork, fresh: list[Inbound]) -> tuple[int, int]:
        """Run the handler on the batch; if it fails, event by event. Returns how many
        events failed alone (dead-lettered as handler errors), and how many the handler
        found already applied (without the inbox)."""
        if not fresh:
            return 0, 0
        try:
            async with uow.savepoint():  # a failure leaves the inbox claim
                return 0, len(await self._handler(uow, fresh) or ())
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("batch of %d failed (%r); isolating the failing events",
                        len(fresh), exc)
        failed = applied_before = 0
        for inbound in fresh:
            try:
                async with uow.savepoint():
                    applied_before += len(await self._handler(uow, [inbound]) or ())
            except Exception as exc:
                if is_transient(exc):
                    raise
                if not self._inbox and not await inbox.claim(
                        uow.conn, [inbound.envelope.id], self.topic):
                    applied_before += 1  # failed and dead-lettered when first delivered
                    continue
                log.exception("event %s failed; dead-lettering it", inbound.envelope.id)
                uow.dead_letter(inbound.record, f"{type(exc).__name__}: {exc}"[:1000],
                                "handler_error")
                failed += 1
        return failed, applied_before


async def parse_batch(records: tuple[ConsumerRecord, ...],
                      parse: Callable[[tuple[ConsumerRecord, ...]], Awaitable[Any]]) -> Any:
    """FastStream's parser of a subscriber's batch (its `parser=`). Its own decodes every
    record's headers into a dict, which its telemetry then reads for each record's baggage
    and trace link: work per record, on every batch. The processor reads the records
    themselves and links each record's trace to the batch (runtime/telemetry.py), so only
    the first record's headers are decoded here; the message holds the whole batch."""
    if not isinstance(records, tuple) or len(records) < 2:
        return await parse(records)
    message = await parse(records[:1])
    message.raw_message = records
    message.body = [record.value or b"" for record in records]
    message.message_id = f"{records[0].offset}-{records[-1].offset}-{records[0].timestamp}"
    return message


async def _not_rewound(consumer: Any, records: list[ConsumerRecord]) -> list[ConsumerRecord]:
    """The records still ahead of their partition's position. A rebalance that came between
    this batch's fetch and its turn at the gate (runtime/kafka.py `RebalanceGate`) may have
    given a partition back to this consumer rewound to its committed offset: its records
    from there on come again with the next fetch, and are applied then, not twice."""
    positions: dict[tuple[str, int], int] = {}
    for topic, partition in {(r.topic, r.partition) for r in records}:
        with contextlib.suppress(IllegalStateError):  # taken away meanwhile: not ours
            positions[topic, partition] = await consumer.position(
                TopicPartition(topic, partition))
    return [r for r in records if r.offset < positions.get((r.topic, r.partition), -1)]


def record_key(record: ConsumerRecord) -> str:
    """Inbox key of a record without a usable ce_id: its place in the log is stable."""
    return f"kafka:{record.topic}:{record.partition}:{record.offset}"


def _summarise(exc: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors()]
    return "; ".join(parts)[:1000]
