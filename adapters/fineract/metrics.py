"""The adapter's metrics: what it ignored, by reason and Fineract event type (counted when
decided), what arrived too late for a month already published, and the core-banking events
it published (counted at commit, runtime.metrics.observe). Labels are bounded: reasons are
this module's, types Fineract's class names (anything else is "other")."""

from __future__ import annotations

import re

from prometheus_client import Counter

from contracts.base import Event
from contracts.corebanking.v1 import AssetSnapshotTaken, CustomerClosed, CustomerOnboarded
from runtime.metrics import observe, zeroed

_TYPE = re.compile(r"[A-Za-z]{1,80}BusinessEvent")

IGNORED = Counter(
    "loyalty_fineract_ignored_total",
    "Fineract external events the adapter does not apply, by reason (unmapped_type,"
    " other_tenant, client_not_active, other_office, group_account, other_currency,"
    " reversed, no_balance) and event type.",
    ["reason", "type"],
)
LATE = Counter(
    "loyalty_fineract_late_balances_total",
    "Day-end balances of a month whose snapshots were already published (kept, not sent).",
)
PUBLISHED = Counter(
    "loyalty_fineract_published_total",
    "Core-banking events published from Fineract's, by type.",
    ["type"],
)
zeroed(PUBLISHED, (CustomerOnboarded.ce_type, CustomerClosed.ce_type, AssetSnapshotTaken.ce_type))


def ignored(reason: str, event_type: str) -> None:
    IGNORED.labels(reason, event_type if _TYPE.fullmatch(event_type) else "other").inc()


@observe(CustomerOnboarded, CustomerClosed, AssetSnapshotTaken)
def _published(event: Event) -> None:
    PUBLISHED.labels(event.ce_type).inc()
