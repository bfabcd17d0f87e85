"""One module per input: the two consumed topics (customers.py, asset_snapshots.py), the
staff's tier override (tier_override.py) and the timer that ends overrides
(override_ends.py). Each loads (sql/), decides (domain/), saves (sql/) and emits through
its unit of work. Every one that brings a fact about tiers has them decided again by
timelines.py; events.py is the one place that turns decisions into contract events."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
