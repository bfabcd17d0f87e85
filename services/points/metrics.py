"""The points service's business metrics: counters fed by the events its units of work
commit (runtime.metrics.observe), gauges refreshed from the database every few seconds.
Labels are bounded: rule and cap ids come from the programme file, reasons from the
contracts' enumerations."""

from __future__ import annotations

from decimal import Decimal
from typing import get_args

from prometheus_client import Counter, Gauge

from contracts.points.v1 import (
    PointsDebited,
    PointsDebitRejected,
    PointsEarned,
    PointsExpired,
    PointsForfeited,
    PointsForfeitureReturned,
    PointsGoodwillAwarded,
    PointsRefunded,
    PointsRerated,
    PointsReversed,
)
from runtime.metrics import observe, observe_batch, zeroed
from runtime.service import Service

from .sql import metrics as sql

#: How often the gauges are read from the database.
REFRESH_SECONDS = 15

POINTS = Counter(
    "loyalty_points_total",
    "Points moved, by movement (issued, reversed, debited, refunded, expired, forfeited,"
    " unforfeited: given back out of a forfeiture) and kind: issued points are base, bonus,"
    " rerating or goodwill (staff awards for complaints), forfeitures give their reason.",
    ["movement", "kind"],
)
RULES_APPLIED = Counter(
    "loyalty_points_rules_applied_total",
    "Purchases each earning rule or campaign applied to, and each cap cut.", ["rule"],
)
DEBITS_REJECTED = Counter(
    "loyalty_points_debits_rejected_total", "Redemption debits refused, by reason.", ["reason"]
)
LIABILITY = Gauge("loyalty_points_liability_points", "Points members hold (outstanding).")
LIABILITY_CNY = Gauge(
    "loyalty_points_liability_cny",
    "Outstanding points valued at the configured rate (POINT_VALUE_CNY per point).",
)
REFUNDS_PARKED = Gauge(
    "loyalty_points_refunds_parked", "Refunds parked waiting for their purchase."
)
REFUNDS_PARKED_DEAD_LETTERED = Gauge(
    "loyalty_points_refunds_parked_dead_lettered",
    "Parked refunds already handed to operations (waited past REFUND_WAIT_SECONDS).",
)
REFUNDS_PARKED_OLDEST = Gauge(
    "loyalty_points_refunds_parked_oldest_age_seconds",
    "Age of the oldest parked refund (0 when none).",
)

for movement, kinds in (("issued", ("base", "bonus", "rerating", "goodwill")),
                        ("reversed", ("refund", "rerating")), ("debited", ("redemption",)),
                        ("refunded", ("cancellation",)), ("expired", ("expiry",)),
                        ("forfeited", get_args(PointsForfeited.model_fields["reason"].annotation)),
                        ("unforfeited",
                         get_args(PointsForfeitureReturned.model_fields["reason"].annotation))):
    zeroed(POINTS, (movement,), kinds)
zeroed(DEBITS_REJECTED, get_args(PointsDebitRejected.model_fields["reason"].annotation))


@observe_batch(PointsEarned)  # a consumed batch's purchases: each series incremented once
def _earned(events: list[PointsEarned]) -> None:
    base = bonus = 0
    rules: dict[str, int] = {}
    for event in events:
        c = event.calculation
        base += min(event.points, c.base_points)
        bonus += max(0, event.points - c.base_points)
        for rule in (*c.rule_ids, *c.caps_applied):
            rules[rule] = rules.get(rule, 0) + 1
    POINTS.labels("issued", "base").inc(base)
    POINTS.labels("issued", "bonus").inc(bonus)
    for rule, purchases in rules.items():
        RULES_APPLIED.labels(rule).inc(purchases)


@observe(PointsRerated)
def _rerated(event: PointsRerated) -> None:
    if event.points_moved > 0:
        POINTS.labels("issued", "rerating").inc(event.points_moved)
    else:
        POINTS.labels("reversed", "rerating").inc(-event.points_moved)


@observe(PointsGoodwillAwarded)
def _goodwill(event: PointsGoodwillAwarded) -> None:
    POINTS.labels("issued", "goodwill").inc(event.points)


@observe(PointsReversed)
def _reversed(event: PointsReversed) -> None:
    POINTS.labels("reversed", "refund").inc(event.points)


@observe(PointsDebited)
def _debited(event: PointsDebited) -> None:
    POINTS.labels("debited", "redemption").inc(event.points)


@observe(PointsDebitRejected)
def _debit_rejected(event: PointsDebitRejected) -> None:
    DEBITS_REJECTED.labels(event.reason).inc()


@observe(PointsRefunded)
def _refunded(event: PointsRefunded) -> None:
    POINTS.labels("refunded", "cancellation").inc(event.points)


@observe(PointsExpired)
def _expired(event: PointsExpired) -> None:
    POINTS.labels("expired", "expiry").inc(event.points)


@observe(PointsForfeited)
def _forfeited(event: PointsForfeited) -> None:
    POINTS.labels("forfeited", event.reason).inc(event.points)


@observe(PointsForfeitureReturned)
def _unforfeited(event: PointsForfeitureReturned) -> None:
    POINTS.labels("unforfeited", event.reason).inc(event.points)


def install(service: Service, point_value_cny: Decimal) -> None:
    """Refresh the gauges every REFRESH_SECONDS while the service runs."""

    async def refresh() -> None:
        async with service.pool.acquire() as conn:
            points = await sql.liability(conn)
            parked = await sql.parked_refunds(conn)
        LIABILITY.set(points)
        LIABILITY_CNY.set(float(points * point_value_cny))
        REFUNDS_PARKED.set(parked["parked"])
        REFUNDS_PARKED_DEAD_LETTERED.set(parked["dead_lettered"])
        REFUNDS_PARKED_OLDEST.set(float(parked["oldest_seconds"]))

    service.every(REFRESH_SECONDS, refresh, "metrics refresh")
