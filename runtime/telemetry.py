"""Logs as JSON lines with trace ids; OpenTelemetry tracing exported over OTLP when
OTEL_EXPORTER_OTLP_ENDPOINT is set (propagation works either way: without it the API's
no-op tracer hands each record's context on unchanged, at no cost).

Spans follow OpenTelemetry's messaging conventions: a consumed batch has one "<topic>
process" span linked to every record's context, and each event a "<topic> process" span of
its own, child of its record's context, whose context the events it causes carry (through
the outbox, whose relay adds a "<topic> publish" span): one trace per customer action.
An HTTP request's SERVER span is FastAPI's own; what the request emits carries its context
(runtime/unit_of_work.py)."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from contracts.envelope import Envelope

from .personal_data import redact

tracer = trace.get_tracer("loyalty.runtime")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def configure_tracing(service: str) -> TracerProvider | None:
    """The SDK, exporting over OTLP/HTTP, when OTEL_EXPORTER_OTLP_ENDPOINT is set; else
    nothing (the no-op tracer still propagates contexts)."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, if there is one."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def process_spans(topic: str, group: str,
                  events: Mapping[str, tuple[Envelope, ConsumerRecord | None]]
                  ) -> Iterator[dict[str, str]]:
    """The batch's process span (current inside), linked to each event's context, and one
    process span per event, child of that context and linked to the batch's. Yields, by
    the events' keys, the traceparent what each event causes should carry; nothing when
    spans are not recorded (no SDK: the events' own contexts go on)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        yield {}  # not tracing: no span costs a consumer anything
        return
    common = {"messaging.system": "kafka", "messaging.operation.type": "process",
              "messaging.destination.name": topic, "messaging.consumer.group.name": group}
    parents = {key: extract({"traceparent": envelope.traceparent})
               if envelope.traceparent else None for key, (envelope, _) in events.items()}
    links = [trace.Link(span) for context in parents.values() if context is not None
             for span in [trace.get_current_span(context).get_span_context()] if span.is_valid]
    with tracer.start_as_current_span(
            f"{topic} process", kind=trace.SpanKind.CONSUMER, links=links,
            attributes={**common, "messaging.batch.message_count": len(events)}) as batch:
        if not batch.is_recording():
            yield {}
            return
        spans = {}
        for key, (envelope, record) in events.items():
            attributes = {**common, "messaging.message.id": envelope.id}
            if record is not None:
                attributes |= {"messaging.destination.partition.id": str(record.partition),
                               "messaging.kafka.offset": record.offset}
            spans[key] = tracer.start_span(
                f"{topic} process", context=parents[key] or trace.set_span_in_context(
                    trace.INVALID_SPAN), kind=trace.SpanKind.CONSUMER,
                links=[trace.Link(batch.get_span_context())], attributes=attributes)
        try:
            yield {key: _traceparent(span) for key, span in spans.items()}
        finally:
            for span in spans.values():
                span.end()


def _traceparent(span: trace.Span) -> str:
    carrier: dict[str, str] = {}
    inject(carrier, context=trace.set_span_in_context(span))
    return carrier["traceparent"]
