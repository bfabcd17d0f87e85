"""The runtime's batch path (runtime/consumer.py: inbox, one transaction, outbox, dead
letters) with Fineract's Avro in place of CloudEvents: each record's `MessageV1` and payload
are decoded against the schemas (avro.py, messages.py); a `BulkBusinessEvent` is
unbundled into its items.

The inbox key is the tenant and Fineract's `idempotencyKey` (a re-sent batch repeats both; a
bulk event's items add their ids), and it is the id the emitted events derive theirs from
(UnitOfWork.emit). Bytes that do not decode go to `<topic>.dlq.<group>` (`undecodable`)
under their place in the log; events of another tenant or of a kind the adapter does not
map are ignored and counted (metrics.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import ConsumerRecord

from contracts.envelope import Envelope
from runtime.consumer import BatchProcessor, DeadLetter, Decoded, Inbound, record_key

from . import metrics
from .avro import Schemas, UndecodableError
from .messages import mapped, read_envelope, read_event, unbundle


class FineractProcessor(BatchProcessor):
    def __init__(self, *, schemas: Schemas, tenant: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self._schemas = schemas
        self._tenant = tenant

    def _decode(self, records: Sequence[ConsumerRecord]) -> Decoded:
        batch = Decoded()
        for record in records:
            try:
                envelope = read_envelope(self._schemas, record.value)
                key = f"fineract:{envelope['tenantId']}:{envelope['idempotencyKey']}"
                if envelope["tenantId"] != self._tenant:
                    metrics.ignored("other_tenant", envelope["type"])
                    batch.ignored += 1
                    continue
                parts = unbundle(self._schemas, envelope)
            except UndecodableError as exc:
                batch.dead[record_key(record)] = DeadLetter(record, str(exc), "undecodable")
                continue
            for suffix, part in parts:
                self._decode_event(batch, record, key + suffix, part)
        return batch

    def _decode_event(self, batch: Decoded, record: ConsumerRecord, key: str,
                      envelope: dict) -> None:
        if key in batch.events or key in batch.dead:
            batch.duplicates += 1  # the same event twice in one batch
            return
        if not mapped(envelope["type"], envelope["dataschema"]):
            metrics.ignored("unmapped_type", envelope["type"])
            batch.ignored += 1
            return
        try:
            event = read_event(self._schemas, envelope)
        except UndecodableError as exc:
            batch.dead[key] = DeadLetter(record, str(exc), "undecodable")
            return
        batch.events[key] = Inbound(event, Envelope(  # type: ignore[arg-type]
            id=key, type=event.type, source=f"urn:fineract:{event.tenant}", subject=None,
            time=event.created_at), record)
