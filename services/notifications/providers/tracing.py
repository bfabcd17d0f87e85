"""The provider calls in the trace of what caused the message.

`provider_span`: one span per provider call (a send or a lookup), child of the context the
message was planned in (`messages.traceparent`: the process span of the event that asked
for it), so a customer action's trace reaches the provider; `traced_lookup` asks an SMS
provider about a message in such a span. `TracedHttp`: the CLIENT span
of each HTTP request inside it, with OpenTelemetry's HTTP attributes (the URL without its
query: WeChat's carries the access token). Both cost nothing when spans are not recorded
(no SDK, see runtime/telemetry.py), and no trace header goes to a provider."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.semconv.attributes import (
    error_attributes,
    http_attributes,
    server_attributes,
    url_attributes,
)

from ..domain.delivery import Lookup
from .http import Answer, Http

if TYPE_CHECKING:
    from .base import SmsProvider

tracer = trace.get_tracer("loyalty.notifications")


@contextmanager
def provider_span(traceparent: str | None, channel: str, provider: str, operation: str,
                  message_id: str) -> Iterator[trace.Span | None]:
    """"<provider> <operation>" ("aliyun send", "tencent lookup"), current inside; None
    when not tracing."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        yield None
        return
    parent = extract({"traceparent": traceparent}) if traceparent else None
    with tracer.start_as_current_span(
            f"{provider} {operation}", context=parent, kind=trace.SpanKind.INTERNAL,
            attributes={"notification.channel": channel, "notification.provider": provider,
                        "notification.message.id": message_id}) as span:
        yield span


def outcome(span: trace.Span | None, kind: str, code: str = "") -> None:
    """A call's outcome on its span (a failure marks it an error)."""
    if span is None:
        return
    span.set_attribute("notification.outcome", kind)
    if kind not in ("sent", "found"):
        span.set_attribute(error_attributes.ERROR_TYPE, code or kind)
        span.set_status(trace.StatusCode.ERROR)


async def traced_lookup(sms: SmsProvider, traceparent: str | None, message_id: str,
                        mobile: str, since: datetime, now: datetime) -> Lookup:
    """What `sms` received under `message_id` since `since`, in a lookup span of the
    message's trace; any failure is no answer (`found` None)."""
    with provider_span(traceparent, "sms", sms.name, "lookup", message_id) as span:
        try:
            lookup = await sms.status(mobile, message_id, since, now)
        except Exception as exc:  # a bug or an unforeseen answer: bounded as no answer
            lookup = Lookup(None, code=type(exc).__name__)
        outcome(span, "found" if lookup.found else "not_found"
                if lookup.found is False else "failed", lookup.code)
    return lookup


class TracedHttp:
    """An `Http` whose requests are CLIENT spans when inside a recorded span."""

    def __init__(self, http: Http, spans: trace.Tracer = tracer) -> None:
        self._http = http
        self._tracer = spans

    async def request(self, method: str, url: str, *,
                      headers: Mapping[str, str] | None = None,
                      content: bytes = b"") -> Answer:
        if not trace.get_current_span().is_recording():
            return await self._http.request(method, url, headers=headers, content=content)
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with self._tracer.start_as_current_span(method, kind=trace.SpanKind.CLIENT, attributes={
                http_attributes.HTTP_REQUEST_METHOD: method,
                server_attributes.SERVER_ADDRESS: parts.hostname or "",
                server_attributes.SERVER_PORT: port,
                url_attributes.URL_FULL: urlunsplit(parts._replace(query="", fragment=""))},
                record_exception=False) as span:
            try:
                answer = await self._http.request(method, url, headers=headers,
                                                  content=content)
            except Exception as exc:
                span.set_attribute(error_attributes.ERROR_TYPE, type(exc).__qualname__)
                span.set_status(trace.StatusCode.ERROR)
                raise
            span.set_attribute(http_attributes.HTTP_RESPONSE_STATUS_CODE, answer.status)
            if answer.status >= 400:
                span.set_attribute(error_attributes.ERROR_TYPE, str(answer.status))
                span.set_status(trace.StatusCode.ERROR)
            return answer

    async def aclose(self) -> None:
        await self._http.aclose()
