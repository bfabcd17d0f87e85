"""CloudEvents 1.0 in Kafka binary mode: attributes in `ce_*` headers, the data as JSON value.

See https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from .base import Event

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
DATASCHEMA_PREFIX = "urn:loyalty:schema:"

Headers = list[tuple[str, bytes]]


class EnvelopeError(ValueError):
    """A record whose headers do not form a valid CloudEvent; it can never succeed."""


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    type: str
    source: str
    subject: str | None
    time: datetime
    dataschema: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None

    def to_headers(self) -> Headers:
        headers: Headers = [
            ("ce_specversion", SPECVERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_type", self.type.encode()),
            ("ce_source", self.source.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        optional = (
            ("ce_subject", self.subject),
            ("ce_dataschema", self.dataschema),
            ("traceparent", self.traceparent),
            ("tracestate", self.tracestate),
        )
        headers.extend((name, value.encode()) for name, value in optional if value)
        return headers

    @classmethod
    def from_headers(cls, headers: Iterable[tuple[str, bytes | None]]) -> Envelope:
        values: dict[str, str] = {}
        for name, raw in headers:
            if raw is None:
                continue
            try:
                values[name] = raw.decode()
            except UnicodeDecodeError as exc:
                raise EnvelopeError(f"header {name} is not UTF-8") from exc
        if values.get("ce_specversion") != SPECVERSION:
            raise EnvelopeError(f"ce_specversion must be {SPECVERSION!r}")
        missing = [h for h in ("ce_id", "ce_type", "ce_source", "ce_time") if not values.get(h)]
        if missing:
            raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
        content_type = values.get("content-type", CONTENT_TYPE)
        if not content_type.startswith(CONTENT_TYPE):
            raise EnvelopeError(f"unsupported content-type {content_type!r}")
        try:
            time = datetime.fromisoformat(values["ce_time"])
        except ValueError as exc:
            raise EnvelopeError("ce_time is not an RFC 3339 timestamp") from exc
        return cls(
            id=values["ce_id"],
            type=values["ce_type"],
            source=values["ce_source"],
            subject=values.get("ce_subject"),
            time=time,
            dataschema=values.get("ce_dataschema"),
            traceparent=values.get("traceparent"),
            tracestate=values.get("tracestate"),
        )


@cache  # encode() runs per event; the answer depends on the class only
def dataschema_of(model: type[Event]) -> str:
    return f"{DATASCHEMA_PREFIX}{model.ce_type}:{model.topic.rsplit('.', 1)[-1]}"


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    """An event ready for Kafka (or for an outbox row)."""

    topic: str
    key: bytes
    value: bytes
    headers: Headers


def encode(
    event: Event,
    *,
    source: str,
    id: str | None = None,
    time: datetime | None = None,
    traceparent: str | None = None,
) -> EncodedEvent:
    subject = event.subject
    envelope = Envelope(
        id=id or str(uuid.uuid4()),
        type=event.ce_type,
        source=source,
        subject=subject,
        time=time or datetime.now(UTC),
        dataschema=dataschema_of(type(event)),
        traceparent=traceparent,
    )
    return EncodedEvent(
        topic=event.topic,
        key=subject.encode(),
        value=event.model_dump_json(exclude_none=True).encode(),
        headers=envelope.to_headers(),
    )
