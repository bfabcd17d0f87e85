"""Prometheus metrics shared by every service (label `service` comes from the scrape: one
service per process): the message path, dead letters, periodic tasks and HTTP requests, and
`observe`/`committed`, through which each service's business metrics (services/*/metrics.py)
count the events its units of work commit."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable

from prometheus_client import Counter, Gauge, Histogram

from contracts.base import Event

log = logging.getLogger(__name__)

EVENTS = Counter(
    "loyalty_events_consumed_total",
    "Consumed records by outcome: applied, duplicate, ignored, dead_lettered.",
    ["topic", "group", "outcome"],
)
BATCH_SECONDS = Histogram(
    "loyalty_batch_seconds",
    "Time to process one consumed batch, decode to database commit.",
    ["topic", "group"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_SIZE = Histogram(
    "loyalty_batch_records",
    "Records per consumed batch.",
    ["topic", "group"],
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000),
)
CONSUMER_LAG = Gauge(
    "loyalty_consumer_lag_records",
    "Records behind the partition's high watermark after the last batch.",
    ["topic", "group", "partition"],
)
TRANSIENT_RETRIES = Counter(
    "loyalty_transient_retries_total",
    "Retries of operations after a transient failure (database or broker unreachable).",
    ["operation"],
)
INBOX_PRUNED = Counter(
    "loyalty_inbox_pruned_total", "Inbox ids deleted after the retention period."
)
OUTBOX_PUBLISHED = Counter(
    "loyalty_outbox_published_total", "Outbox records published to Kafka.", ["topic"]
)
OUTBOX_BACKLOG = Gauge("loyalty_outbox_backlog_rows",
                       "Outbox records not yet published (a row holds a transaction's).")
OUTBOX_OLDEST_AGE = Gauge(
    "loyalty_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row."
)
RELAY_ACTIVE = Gauge(
    "loyalty_outbox_relay_active", "1 when this instance holds the relay lock, else 0."
)
OUTBOX_ALREADY_PUBLISHED = Counter(
    "loyalty_outbox_already_published_total",
    "Outbox records found on their topic when a relay took over (a predecessor published"
    " them and died before deleting their row): not sent again.",
)
DEAD_LETTERS = Counter(
    "loyalty_dead_letters_total",
    "Records written to a dead-letter topic (counted at commit), by dead-letter topic.",
    ["topic"],
)
PERIODIC_LAST_SUCCESS = Gauge(
    "loyalty_periodic_last_success_timestamp_seconds",
    "When a periodic task (job or housekeeping) last completed a round without error.",
    ["task"],
)
PERIODIC_FAILURES = Counter(
    "loyalty_periodic_failures_total", "Failed rounds of a periodic task.", ["task"]
)
HTTP_SECONDS = Histogram(
    "loyalty_http_request_seconds",
    "HTTP requests served, by route template, method and status code.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

def zeroed(metric: Counter | Gauge, *label_sets: Iterable[str]) -> None:
    """Create the children of every combination of these label values at 0, so a series
    exists (and a dashboard shows 0, and a misspelt query shows nothing) before the first
    event."""
    for labels in itertools.product(*label_sets):
        metric.labels(*labels)


#: What each committed event type adds to a service's business metrics (services/*/metrics.py).
_OBSERVERS: dict[str, Callable[[Event], None]] = {}
#: The same for types a unit commits many of at once (a consumed batch's purchases): the
#: function is given all of a unit's events of the type, and increments each series once.
_BATCH_OBSERVERS: dict[str, Callable[[list[Event]], None]] = {}


def observe(*event_types: type[Event]) -> Callable[[Callable[[Event], None]], Callable]:
    """Register the decorated function to count each committed event of these types."""

    def register(fn: Callable[[Event], None]) -> Callable[[Event], None]:
        for event_type in event_types:
            _OBSERVERS[event_type.ce_type] = fn
        return fn

    return register


def observe_batch(*event_types: type[Event]
                  ) -> Callable[[Callable[[list[Event]], None]], Callable]:
    """Register the decorated function to count a unit's committed events of these types,
    all in one call."""

    def register(fn: Callable[[list[Event]], None]) -> Callable[[list[Event]], None]:
        for event_type in event_types:
            _BATCH_OBSERVERS[event_type.ce_type] = fn
        return fn

    return register


def committed(events: Iterable[Event], dead_letter_topics: Iterable[str]) -> None:
    """Count what a unit of work committed: the events through their observers, and the
    dead letters. Metrics never fail the work: an observer's error is logged."""
    for topic in dead_letter_topics:
        DEAD_LETTERS.labels(topic).inc()
    batches: dict[str, list[Event]] = {}
    for event in events:
        if (fn := _OBSERVERS.get(event.ce_type)) is not None:
            _count(fn, event, event.ce_type)
        elif event.ce_type in _BATCH_OBSERVERS:
            batches.setdefault(event.ce_type, []).append(event)
    for ce_type, batch in batches.items():
        _count(_BATCH_OBSERVERS[ce_type], batch, ce_type)


def _count(fn: Callable, what: object, ce_type: str) -> None:
    try:
        fn(what)
    except Exception:
        log.exception("counting %s failed", ce_type)
