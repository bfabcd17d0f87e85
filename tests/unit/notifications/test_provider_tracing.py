"""The provider requests' CLIENT spans (providers/tracing.py): inside the provider call's
span, with OpenTelemetry's HTTP attributes and never the URL's query (WeChat's carries the
access token); none outside a recorded span."""

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.notifications.providers.http import Answer
from services.notifications.providers.tracing import TracedHttp

URL = "https://api.weixin.qq.com/cgi-bin/message/template/send?access_token=SECRET"


class Provider:
    def __init__(self, status: int = 200, error: Exception | None = None) -> None:
        self.status, self.error = status, error

    async def request(self, method, url, *, headers=None, content=b""):
        if self.error:
            raise self.error
        return Answer(self.status, b"{}")

    async def aclose(self) -> None:
        pass


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


async def test_a_request_is_a_client_span_inside_the_call(spans) -> None:
    tracer, exporter = spans
    with tracer.start_as_current_span("wechat send") as call:
        await TracedHttp(Provider(), tracer).request("POST", URL)
    [request, parent] = exporter.get_finished_spans()
    assert request.name == "POST" and request.kind == trace.SpanKind.CLIENT
    assert request.parent.span_id == call.get_span_context().span_id
    assert dict(request.attributes) == {
        "http.request.method": "POST", "server.address": "api.weixin.qq.com",
        "server.port": 443, "url.full": "https://api.weixin.qq.com/cgi-bin/message/template/send",
        "http.response.status_code": 200}
    assert "SECRET" not in str(request.to_json())


async def test_failures_mark_the_span(spans) -> None:
    tracer, exporter = spans
    with tracer.start_as_current_span("aliyun send"):
        await TracedHttp(Provider(503), tracer).request("POST", "http://sandbox/aliyun/")
        with pytest.raises(httpx.ConnectError):
            await TracedHttp(Provider(error=httpx.ConnectError("refused")), tracer).request(
                "POST", "http://sandbox/aliyun/")
    unavailable, refused = exporter.get_finished_spans()[:2]  # in the order they ended
    assert unavailable.attributes["error.type"] == "503"
    assert unavailable.status.status_code == trace.StatusCode.ERROR
    assert refused.attributes["error.type"] == "ConnectError"


async def test_no_span_outside_a_recorded_one(spans) -> None:
    tracer, exporter = spans
    await TracedHttp(Provider(), tracer).request("POST", URL)
    assert exporter.get_finished_spans() == ()
