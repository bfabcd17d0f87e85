"""The rewards service's business metrics: counters fed by the events its units of work
commit (runtime.metrics.observe), partner request outcomes and latency from an ASGI
wrapper around the partner API, gauges refreshed from the database every few seconds.
Labels are bounded: partners by id (a key nobody issued counts as "unknown"), airports from
the lounge catalogue's ids, reasons from the contracts' enumerations."""

from __future__ import annotations

import re
import time
from functools import cache
from typing import get_args

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Receive, Scope, Send

from contracts.rewards.v1 import (
    RedemptionCancelled,
    RedemptionConfirmed,
    RedemptionRejected,
    RedemptionRequested,
)
from runtime.http_metrics import served
from runtime.metrics import observe, zeroed
from runtime.service import Service

from .sql import metrics as sql

#: How often the gauges (and the key -> partner map) are read from the database.
REFRESH_SECONDS = 15
#: The partner API's paths; what follows names the endpoint.
PARTNER_PREFIX = "/v1/redemptions"
#: A lounge id starts with its airport's IATA code (catalogue/lounges.csv: PEK-T2-01).
_AIRPORT = re.compile(r"[A-Z]{3}(?=-)")

REDEMPTIONS = Counter(
    "loyalty_redemptions_total",
    "Redemptions by partner, kind (lounge, offer) and outcome (requested, confirmed).",
    ["partner", "kind", "outcome"],
)
REJECTED = Counter(
    "loyalty_redemptions_rejected_total", "Redemptions points refused, by reason.", ["reason"]
)
CANCELLED = Counter("loyalty_redemptions_cancelled_total", "Redemptions cancelled.")
LOUNGE_VISITS = Counter(
    "loyalty_lounge_visits_total", "Confirmed lounge visits by airport.", ["airport"]
)
PARTNER_REQUESTS = Counter(
    "loyalty_partner_requests_total",
    "Partner API requests by partner and HTTP status (401 bad signature, 403 scope, 409"
    " conflict, 422 invalid, 429 rate limited).",
    ["partner", "status"],
)
PARTNER_SECONDS = Histogram(
    "loyalty_partner_request_seconds",
    "Partner API latency by endpoint (lounge-visits, offers, redemption).",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PENDING_SAGAS = Gauge("loyalty_redemptions_pending", "Redemptions waiting for points' answer.")
PENDING_OLDEST = Gauge(
    "loyalty_redemptions_pending_oldest_age_seconds",
    "Age of the oldest redemption waiting for points' answer (0 when none).",
)

zeroed(REJECTED, get_args(RedemptionRejected.model_fields["reason"].annotation))


@cache
def _child(metric: Counter | Histogram, *labels: str) -> Counter | Histogram:
    """A labelled child, looked up once (the labels are bounded; `labels` costs a lock and
    a few microseconds on every partner request)."""
    return metric.labels(*labels)


@observe(RedemptionRequested)
def _requested(event: RedemptionRequested) -> None:
    _child(REDEMPTIONS, event.partner_id, event.kind, "requested").inc()


@observe(RedemptionConfirmed)
def _confirmed(event: RedemptionConfirmed) -> None:
    _child(REDEMPTIONS, event.partner_id, event.kind, "confirmed").inc()
    if event.kind == "lounge":
        _child(LOUNGE_VISITS, _airport(event.item_id)).inc()


@cache
def _airport(lounge_id: str) -> str:
    match = _AIRPORT.match(lounge_id)
    return match.group() if match else "other"


@observe(RedemptionRejected)
def _rejected(event: RedemptionRejected) -> None:
    REJECTED.labels(event.reason).inc()


@observe(RedemptionCancelled)
def _cancelled(_event: RedemptionCancelled) -> None:
    CANCELLED.inc()


class PartnerMetrics:
    """ASGI wrapper counting partner API answers by partner and status, and timing them.
    Outermost, so the signed commands served before routing (api.SignedEntry) count too."""

    def __init__(self, app: ASGIApp, *, partners: dict[str, str]) -> None:
        self.app = app
        #: Key id -> partner id, kept up to date by `install`'s refresh.
        self.partners = partners

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PARTNER_PREFIX):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: list[int] = []
        try:
            await served(self.app, scope, receive, send, status)
        finally:
            _child(PARTNER_SECONDS, _endpoint(path)).observe(time.perf_counter() - started)
            _child(PARTNER_REQUESTS, self._partner(scope), str(status[0])).inc()

    def _partner(self, scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == b"x-key-id":
                return self.partners.get(value.decode("latin-1"), "unknown")
        return "unknown"


def _endpoint(path: str) -> str:
    rest = path[len(PARTNER_PREFIX):].strip("/")
    return rest if rest in ("lounge-visits", "offers") else "redemption"


def install(service: Service) -> None:
    """The partner API's wrapper (added last: outermost), and the gauges' refresh."""
    partners: dict[str, str] = {}
    service.http.add_middleware(PartnerMetrics, partners=partners)

    async def refresh() -> None:
        async with service.pool.acquire() as conn:
            pending = await sql.pending_sagas(conn)
            keys = await sql.partner_keys(conn)
        PENDING_SAGAS.set(pending["pending"])
        PENDING_OLDEST.set(float(pending["oldest_seconds"]))
        partners.update(keys)  # keys are never deleted, only revoked

    service.every(REFRESH_SECONDS, refresh, "metrics refresh")
