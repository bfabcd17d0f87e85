"""Prometheus metrics of the message path, shared by every service (label `service`
comes from the process: one service per process)."""

from prometheus_client import Counter, Gauge, Histogram

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
    "loyalty_outbox_published_total", "Outbox rows published to Kafka.", ["topic"]
)
OUTBOX_BACKLOG = Gauge("loyalty_outbox_backlog_rows", "Outbox rows not yet published.")
OUTBOX_OLDEST_AGE = Gauge(
    "loyalty_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row."
)
RELAY_ACTIVE = Gauge(
    "loyalty_outbox_relay_active", "1 when this instance holds the relay lock, else 0."
)
OUTBOX_ALREADY_PUBLISHED = Counter(
    "loyalty_outbox_already_published_total",
    "Outbox rows found on their topic when a relay took over (a predecessor published them"
    " and died before deleting them): deleted, not sent again.",
)
