"""The accounts service's business metrics: counters fed by the events its units of work
commit (runtime.metrics.observe), members by tier refreshed from the database every few
seconds. Labels are bounded: tiers from contracts/tiers.py, reasons from the contracts."""

from __future__ import annotations

from typing import get_args

from prometheus_client import Counter, Gauge

from contracts.accounts.v1 import MemberClosed, MemberEnrolled, MemberTierChanged
from contracts.tiers import TIERS, rank
from runtime.metrics import observe, zeroed
from runtime.service import Service

from .sql import metrics as sql

#: How often the gauge is read from the database.
REFRESH_SECONDS = 15

MEMBERS = Gauge("loyalty_members", "Active members by tier.", ["tier"])
ENROLMENTS = Counter("loyalty_member_enrolments_total", "Members enrolled.")
CLOSURES = Counter("loyalty_member_closures_total", "Members closed.")
TIER_CHANGES = Counter(
    "loyalty_member_tier_changes_total",
    "Tier changes announced, by direction (upgrade, downgrade), reason and new tier.",
    ["direction", "reason", "tier"],
)

zeroed(TIER_CHANGES, ("upgrade", "downgrade"),
       get_args(MemberTierChanged.model_fields["reason"].annotation), TIERS)


@observe(MemberEnrolled)
def _enrolled(_event: MemberEnrolled) -> None:
    ENROLMENTS.inc()


@observe(MemberClosed)
def _closed(_event: MemberClosed) -> None:
    CLOSURES.inc()


@observe(MemberTierChanged)
def _tier_changed(event: MemberTierChanged) -> None:
    direction = "upgrade" if rank(event.new_tier) > rank(event.old_tier) else "downgrade"
    TIER_CHANGES.labels(direction, event.reason, event.new_tier).inc()


def install(service: Service) -> None:
    """Refresh the gauge every REFRESH_SECONDS while the service runs."""

    async def refresh() -> None:
        async with service.pool.acquire() as conn:
            counts = await sql.members_by_tier(conn)
        for tier in TIERS:  # every tier, 0 included, so the mix is always whole
            MEMBERS.labels(tier).set(counts.get(tier, 0))

    service.every(REFRESH_SECONDS, refresh, "metrics refresh")
