"""One module per input: client events (clients.py), savings account and transaction events
(savings.py), month closing (months.py: after a batch that reaches a later month, and the
month-end job); events.py hands a batch to them. Each loads (sql/), decides (domain/),
saves (sql/) and emits through its unit of work."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
