"""A fixed batch of core-banking records: customers, their last monthly snapshot, and N
card transactions with refunds and delivery faults. Pure and reproducible from the seed.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate

from contracts.envelope import EncodedEvent

from .encoding import to_record
from .population import Customer, asset_snapshot, make_customers, onboarded
from .spending import SHANGHAI, CardFeed, CardSpending, SpendingProfile

DEFAULT_SPAN = timedelta(days=1)


@dataclass(slots=True)
class Batch:
    customers: list[EncodedEvent]
    snapshots: list[EncodedEvent]
    transactions: list[EncodedEvent]  # purchases, refunds and duplicates, in delivery order
    counts: dict[str, int] = field(default_factory=dict)

    def records(self) -> list[EncodedEvent]:
        """Everything, in the order to publish: customers first, then assets, then cards."""
        return [*self.customers, *self.snapshots, *self.transactions]


def generate_batch(
    n_transactions: int,
    n_customers: int,
    seed: int,
    *,
    start: datetime | None = None,
    span: timedelta = DEFAULT_SPAN,
    profile: SpendingProfile | None = None,
) -> Batch:
    """`n_transactions` purchases by `n_customers` customers, posted during `span` from
    `start` (default: so that the last refunds fall about now)."""
    profile = profile or SpendingProfile()
    if start is None:
        latest = span + timedelta(seconds=profile.refund_delay_s[1])
        start = (datetime.now(SHANGHAI) - latest).replace(microsecond=0)
    rng = random.Random(seed)
    with _collector_paused():
        customers = make_customers(rng, n_customers, start)
        return Batch(
            customers=[to_record(rng, onboarded(c), c.onboarded_at) for c in customers],
            snapshots=snapshots_for(rng, customers, previous_month(start), _month_end_run(start)),
            **_card_records(rng, customers, n_transactions, start, span, profile),
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Millions of small acyclic objects make the cyclic GC cost ~15% of generation time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def previous_month(at: datetime) -> str:
    first = at.replace(day=1)
    return f"{(first - timedelta(days=1)):%Y-%m}"


def _month_end_run(at: datetime) -> datetime:
    """The night batch that measures the previous month: the 1st, from 02:00."""
    return at.replace(day=1, hour=2, minute=0, second=0, microsecond=0)


def snapshots_for(
    rng: random.Random,
    customers: list[Customer],
    month: str,
    taken_from: datetime,
    spread_s: float = 1800.0,
) -> list[EncodedEvent]:
    """One asset snapshot of `month` per customer, taken within `spread_s` of `taken_from`."""
    records = []
    for customer in customers:
        taken_at = taken_from + timedelta(seconds=rng.uniform(0, spread_s))
        records.append(to_record(rng, asset_snapshot(rng, customer, month, taken_at), taken_at))
    return records


def _card_records(
    rng: random.Random,
    customers: list[Customer],
    n: int,
    start: datetime,
    span: timedelta,
    profile: SpendingProfile,
) -> dict:
    feed = CardFeed(rng, CardSpending(rng, profile))
    who = rng.choices(customers, cum_weights=list(accumulate(c.activity for c in customers)), k=n)
    t0, seconds = start.timestamp(), span.total_seconds()
    for customer, offset in zip(who, sorted(rng.random() for _ in range(n)), strict=True):
        feed.add_purchase(customer, t0 + offset * seconds)
    return {"transactions": feed.drain(), "counts": dict(feed.counts)}
