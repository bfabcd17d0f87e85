"""Traces across the services: the four run as processes exporting OTLP/HTTP to a receiver
of this test's own (OTEL_EXPORTER_OTLP_ENDPOINT is the switch).

A card transaction sent with a trace context of core banking's comes back as one trace:
points' process span a child of the record's context, the relay's publish span of points'
event a child of that, notifications' process span of the event a child of the publish
span, and, once the day's points summary that counts the purchase is sent, the provider call
("<provider> send") a child of that process span with its HTTP CLIENT span ("POST") inside;
the batch spans link to the records' contexts. A partner's points-paid redemption is
one trace too: rewards' server span, the publish of its request, points' process span and
the publish of its answer, and rewards' process span of the answer (the saga)."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from contracts.topics import CARD_TRANSACTIONS_V1, POINTS_V1, REWARDS_V1
from tools.chaos import delivery
from tools.chaos.inputs import generate
from tools.chaos.kafka import Broker
from tools.chaos.redemptions import OFFER_PARTNER, create_partners
from tools.chaos.world import SERVICES, World

from .test_observability import AppDriver

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    links: tuple[tuple[str, str], ...]  # (trace id, span id)
    kind: int = 0  # opentelemetry.proto's Span.SpanKind


class Receiver:
    """An OTLP/HTTP trace receiver (protobuf), keeping every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        spans = self.spans

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    service = next(a.value.string_value for a in resource.resource.attributes
                                   if a.key == "service.name")
                    for scope in resource.scope_spans:
                        spans.extend(Span(service, s.name, s.trace_id.hex(), s.span_id.hex(),
                                          s.parent_span_id.hex(),
                                          tuple((k.trace_id.hex(), k.span_id.hex())
                                                for k in s.links), s.kind)
                                     for s in scope.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def trace(self, trace_id: str) -> list[Span]:
        return [s for s in self.spans if s.trace_id == trace_id]

    def chain(self, first: Span, *hops: tuple[str, str]) -> list[Span] | None:
        """`first` and, hop by hop, a child span of the previous one from the service
        (schema name prefix) with the name given; None while one is missing."""
        found = [first]
        for service, name in hops:
            child = next((s for s in self.spans if s.parent_id == found[-1].span_id
                          and s.service.startswith(service) and s.name == name), None)
            if child is None:
                return None
            found.append(child)
        return found

    async def wait_for(self, find, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while (found := find()) is None and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        return found

    def stop(self) -> None:
        self.server.shutdown()


async def test_a_card_transaction_is_one_trace_across_the_services(infra, tmp_path):
    bootstrap, database_url = infra["KAFKA_BOOTSTRAP_SERVERS"], infra["DATABASE_URL"]
    receiver = Receiver()
    tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    # The day's points summaries are due at once: the purchases (over the day before) are
    # summed up, and each summary is sent in the trace of the first purchase it counts.
    summary_at = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=1)
    world = World("trace", uuid.uuid4().hex[:8], tmp_path, extra_env={
        service: tracing | ({"SUMMARY_AT": f"{summary_at:%H:%M:%S}"}
                            if service == "notifications" else {})
        for service in SERVICES})
    data = generate(seed=5, transactions=40, customers=10, months=1)
    # Core banking's context on the first purchase of a member who takes service messages:
    # the trace every hop must join.
    consenting = {r.key for r in data.onboardings
                  if json.loads(r.value)["consents"]["service_messages"]}
    trace_id, root = secrets.token_hex(16), secrets.token_hex(8)
    index = next(i for i, r in enumerate(data.transactions)
                 if (r.headers and ("ce_type", b"corebanking.card-transaction.posted")
                     in r.headers) and r.key in consenting)
    assert all(r.key != data.transactions[index].key for r in data.transactions[:index])
    first = data.transactions[index]
    data.transactions[index] = replace(first, headers=[
        *[(k, v) for k, v in first.headers if k != "traceparent"],
        ("traceparent", f"00-{trace_id}-{root}-01".encode())])
    try:
        await world.start()
        broker = Broker(bootstrap)
        for phase in data.natural():
            await delivery.publish(bootstrap, world, phase)
            assert await delivery.settle(world, broker, database_url, 120) == []

        def card_trace() -> list[Span] | None:
            points = next((s for s in receiver.trace(trace_id) if s.parent_id == root
                           and s.service.startswith("points")), None)
            return points and receiver.chain(
                points, ("points", f"{world.topic(POINTS_V1)} publish"),
                ("notifications", f"{world.topic(POINTS_V1)} process"))

        found = await receiver.wait_for(card_trace)
        assert found is not None, receiver.trace(trace_id)
        assert found[0].name == f"{world.topic(CARD_TRANSACTIONS_V1)} process"

        def provider_call() -> list[Span] | None:
            """The summary's send: a child of notifications' process span of the purchase's
            points event, and its HTTP request inside."""
            for send in (s for s in receiver.spans if s.parent_id == found[-1].span_id
                         and s.service.startswith("notifications")
                         and s.name in ("aliyun send", "wechat send")):
                if call := receiver.chain(send, ("notifications", "POST")):
                    return call
            return None

        call = await receiver.wait_for(provider_call)
        assert call is not None, [(s.service, s.name, s.parent_id) for s in receiver.spans
                                  if s.service.startswith("notifications")]
        assert {s.trace_id for s in call} == {trace_id}
        assert call[-1].kind == ProtoSpan.SPAN_KIND_CLIENT
        # The batch that carried the purchase links to its record's context.
        assert any((trace_id, root) in s.links for s in receiver.spans
                   if s.service.startswith("points") and s != found[0])

        # A partner redeems an offer paid with points: the saga is one trace.
        driver = AppDriver(world, await create_partners(world, database_url))
        try:
            code = await driver._code(data.member_ids[0])
            assert code is not None
            answer = await driver.partners[OFFER_PARTNER].redeem_offer(
                code, "off_coffee_00_0", idempotency_key=uuid.uuid4().hex)
            assert answer.status_code in (201, 202, 409), answer.text  # 409: points said no
        finally:
            await driver.close()

        def saga_trace() -> list[Span] | None:
            # FastAPI's own SERVER span of the request: a root of rewards'.
            for request in (s for s in receiver.spans if s.service.startswith("rewards")
                            and s.name.startswith("POST") and not s.parent_id):
                if found := receiver.chain(
                        request, ("rewards", f"{world.topic(REWARDS_V1)} publish"),
                        ("points", f"{world.topic(REWARDS_V1)} process"),
                        ("points", f"{world.topic(POINTS_V1)} publish"),
                        ("rewards", f"{world.topic(POINTS_V1)} process")):
                    return found
            return None

        saga = await receiver.wait_for(saga_trace)
        assert saga is not None, [(s.service, s.name, s.parent_id) for s in receiver.spans
                                  if s.service.startswith("rewards")]
        assert len({s.trace_id for s in saga}) == 1
    finally:
        await world.stop()
        receiver.stop()
        await world.remove(bootstrap, database_url)
