"""The notifications service's business metrics: counters fed by the events its units of
work commit (runtime.metrics.observe) and by the queue's and sender's decisions, provider
latency, gauges refreshed from the database every few seconds. Labels are bounded: channels,
providers and templates are the configured ones, reasons the contracts' enumerations."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from contracts.notifications.v1 import (
    NotificationDelivered,
    NotificationFailed,
    NotificationSent,
)
from runtime.metrics import observe
from runtime.service import Service

from .sql import metrics as sql

#: How often the gauges are read from the database.
REFRESH_SECONDS = 15

MESSAGES = Counter(
    "loyalty_notification_messages_total",
    "Messages settled, by channel, provider, template and outcome (sent, failed,"
    " delivered); failed ones give their reason, others none.",
    ["channel", "provider", "template", "outcome", "reason"],
)
PLACED = Counter(
    "loyalty_notification_placed_total",
    "New messages by template and placement: queued (to go now), held (quiet hours or a"
    " later slot), capped (the member's daily cap), skipped (closed member, no consent).",
    ["template", "placement"],
)
PROVIDER_CALLS = Counter(
    "loyalty_notification_provider_calls_total",
    "Provider calls by channel, provider and result (sent, transient, permanent, fallback;"
    " unknown: the sender died during the call).",
    ["channel", "provider", "result"],
)
PROVIDER_SECONDS = Histogram(
    "loyalty_notification_provider_seconds",
    "Provider call latency by channel and provider.",
    ["channel", "provider"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FINISHED = Counter("loyalty_notifications_finished_total",
                   "Messages settled by final state (sent, failed, skipped).", ["state"])
INTERRUPTED = Counter(
    "loyalty_notifications_interrupted_total",
    "Sends a sender died during, by what the provider said: sent or delivered (it had it),"
    " resend (it had not), later (no answer yet), unknown (settled as sent without asking"
    " again: WeChat, or no answer after max_lookups).", ["channel", "provider", "outcome"])
UNSURE = Counter(
    "loyalty_notifications_unsure_total",
    "SMS about to be sent again after a call whose outcome was unknown (timed out, connection"
    " broken), by what the provider said when asked first: sent or delivered (not sent"
    " again), resend (it had not: sent), later (no answer yet), unknown (settled as sent"
    " after max_lookups).", ["channel", "provider", "outcome"])
RECEIPT_LOOKUPS = Counter(
    "loyalty_notification_receipt_lookups_total",
    "Sent SMS without a delivery receipt looked up at their provider, by outcome: delivered,"
    " failed (settled as the receipt would have), later (no answer yet), gave_up (no answer"
    " after the last lookup: left 'sent').", ["provider", "outcome"])
REPLIES = Counter(
    "loyalty_notification_replies_total",
    "Members' replies the providers reported (SMS replies, WeChat unfollows), by provider and"
    " outcome: opted_out (a stop, recorded), repeated (a stop recorded before), not_stop"
    " (no stop keyword: ignored), unknown_sender (no member has that number or openid).",
    ["provider", "outcome"])
QUEUED = Gauge(
    "loyalty_notification_queued_messages",
    "Queued messages: due now, or held for later (quiet hours, backoff, awaited contact).",
    ["when"],
)
RECEIPTS_OUTSTANDING = Gauge(
    "loyalty_notification_receipts_outstanding",
    "Messages sent and not yet confirmed by a delivery receipt.",
)
RECEIPTS_OLDEST = Gauge(
    "loyalty_notification_receipts_outstanding_oldest_age_seconds",
    "Age of the oldest sent message without a delivery receipt (0 when none).",
)


@observe(NotificationSent)
def _sent(event: NotificationSent) -> None:
    MESSAGES.labels(event.channel, event.provider, event.template, "sent", "").inc()


@observe(NotificationFailed)
def _failed(event: NotificationFailed) -> None:
    MESSAGES.labels(event.channel or "none", "", event.template, "failed", event.reason).inc()


@observe(NotificationDelivered)
def _delivered(event: NotificationDelivered) -> None:
    MESSAGES.labels(event.channel, event.provider, "", "delivered", "").inc()


def placed(template: str, state: str, held: bool) -> None:
    """Count a new message's placement (handlers/queue.py)."""
    PLACED.labels(template, "held" if state == "queued" and held else state).inc()


def install(service: Service) -> None:
    """Refresh the gauges every REFRESH_SECONDS while the service runs."""

    async def refresh() -> None:
        async with service.pool.acquire() as conn:
            queued = await sql.queued(conn)
            receipts = await sql.receipts_outstanding(conn)
        QUEUED.labels("due").set(queued["due"])
        QUEUED.labels("held").set(queued["held"])
        RECEIPTS_OUTSTANDING.set(receipts["outstanding"])
        RECEIPTS_OLDEST.set(float(receipts["oldest_seconds"]))

    service.every(REFRESH_SECONDS, refresh, "metrics refresh")
