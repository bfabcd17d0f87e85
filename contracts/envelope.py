"""CloudEvents 1.0 in Kafka binary mode: attributes in `ce_*` headers, the data as JSON value.

See https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache

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
        return _headers(self.id, self.type, self.source, self.subject, self.time,
                        self.dataschema, self.traceparent, self.tracestate)

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


_SPECVERSION_HEADER = ("ce_specversion", SPECVERSION.encode())
_CONTENT_TYPE_HEADER = ("content-type", CONTENT_TYPE.encode())


@lru_cache(maxsize=1024)  # bounded: a consumed envelope's values come from outside
def _constant(name: str, value: str) -> tuple[str, bytes]:
    """A header whose value repeats from event to event (a type, a source, a schema)."""
    return name, value.encode()


def _headers(id: str, type: str, source: str, subject: str | None, time: datetime,
             dataschema: str | None, traceparent: str | None,
             tracestate: str | None) -> Headers:
    # Written per emitted event: the headers that repeat are encoded once (`_constant`).
    headers: Headers = [
        _SPECVERSION_HEADER,
        ("ce_id", id.encode()),
        _constant("ce_type", type),
        _constant("ce_source", source),
        ("ce_time", time.isoformat().encode()),
        _CONTENT_TYPE_HEADER,
    ]
    if subject:
        headers.append(("ce_subject", subject.encode()))
    if dataschema:
        headers.append(_constant("ce_dataschema", dataschema))
    if traceparent:
        headers.append(("traceparent", traceparent.encode()))
    if tracestate:
        headers.append(("tracestate", tracestate.encode()))
    return headers


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
    return EncodedEvent(
        topic=event.topic,
        key=subject.encode(),
        value=event.model_dump_json(exclude_none=True).encode(),
        headers=_headers(id or str(uuid.uuid4()), event.ce_type, source, subject,
                         time or datetime.now(UTC), dataschema_of(type(event)), traceparent,
                         None),
    )
