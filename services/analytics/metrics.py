"""The analytics service's business metrics: the calls suggested (counted at commit, by
reason) and the read models' size (member months, members), refreshed from the database."""

from __future__ import annotations

from typing import get_args

from prometheus_client import Counter, Gauge

from contracts.analytics.v1 import CallSuggested, Reason
from runtime.metrics import observe, zeroed
from runtime.service import Service

#: How often the gauges are read from the database.
REFRESH_SECONDS = 60

CALLS = Counter("loyalty_analytics_calls_suggested_total",
                "Calls suggested to relationship managers (analytics.call-suggested), by"
                " reason (a call with two reasons counts in both).", ["reason"])
ROWS = Gauge("loyalty_analytics_read_model_rows",
             "Rows of the analytics read models, by table.", ["table"])
TABLES = ("members", "member_months", "redemptions")
zeroed(CALLS, get_args(Reason))


@observe(CallSuggested)
def _call(event: CallSuggested) -> None:
    for reason in event.reasons:
        CALLS.labels(reason).inc()


def install(service: Service) -> None:
    """Refresh the gauges every REFRESH_SECONDS while the service runs (estimates from the
    planner's statistics: a count of a large table would scan it)."""

    async def refresh() -> None:
        rows = await service.pool.fetch(
            "SELECT relname, greatest(reltuples, 0)::bigint AS n FROM pg_class"
            " WHERE relnamespace = current_schema()::regnamespace AND relname = ANY($1)",
            list(TABLES))
        for row in rows:
            ROWS.labels(row["relname"]).set(row["n"])

    service.every(REFRESH_SECONDS, refresh, "metrics refresh")
