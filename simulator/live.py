"""Core banking running continuously: the state behind `--rate`. Pure: the caller passes
the clock (epoch seconds) and publishes what comes back.

Time is real except for months: every `month_seconds` of wall clock is one simulated month
and brings a round of asset snapshots, labelled with the simulated month.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import datetime
from itertools import accumulate

from contracts.envelope import EncodedEvent

from .batch import previous_month, snapshots_for
from .encoding import to_record
from .population import (
    CLOSE_REASONS,
    Customer,
    changed_profile,
    closed,
    make_customers,
    onboarded,
    updated,
)
from .spending import SHANGHAI, CardFeed, CardSpending, SpendingProfile

# Customer-file churn per card purchase: a profile change every ~500 purchases, a new
# customer every ~1,000 and a closure every ~20,000.
UPDATE_RATE = 1 / 500
ONBOARD_RATE = 1 / 1_000
CLOSE_RATE = 1 / 20_000
LIVE_REFUND_DELAY_S = (5.0, 180.0)  # refunds within minutes, so a demo shows them


class LiveSimulation:
    def __init__(
        self,
        seed: int,
        n_customers: int,
        *,
        month_seconds: float = 60.0,
        profile: SpendingProfile | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.n_customers = n_customers
        self.month_seconds = month_seconds
        self.profile = profile or SpendingProfile(refund_delay_s=LIVE_REFUND_DELAY_S)
        self.feed = CardFeed(self.rng, CardSpending(self.rng, self.profile))
        self.customers: list[Customer] = []
        self._cum: list[float] = []
        self.counts: Counter[str] = Counter()
        self._month = ""
        self._next_month_at = 0.0
        self._clock = 0.0

    @property
    def month(self) -> str:
        """The simulated month of the latest round of asset snapshots, YYYY-MM."""
        return self._month

    def start(self, now: float) -> list[EncodedEvent]:
        """Onboard the population and publish the last complete month's assets."""
        at = datetime.fromtimestamp(now, SHANGHAI)
        self.customers = make_customers(self.rng, self.n_customers, at)
        self._reweigh()
        records = [to_record(self.rng, onboarded(c), c.onboarded_at) for c in self.customers]
        self.counts["customers_onboarded"] += len(records)
        self._month = previous_month(at)
        self._next_month_at = now + self.month_seconds
        self._clock = now
        return records + self._snapshots(at)

    def advance(self, now: float, purchases: int) -> list[EncodedEvent]:
        """`purchases` card purchases spread over (last call, now], plus whatever else
        happened meanwhile: profile changes, new and closed customers, month ends."""
        rng = self.rng
        records: list[EncodedEvent] = []
        earlier = self._clock
        self._clock = now
        who = rng.choices(self.customers, cum_weights=self._cum, k=purchases) if purchases else []
        for customer in who:
            self.feed.add_purchase(customer, rng.uniform(earlier, now))
        for _ in range(_occurrences(rng, purchases * UPDATE_RATE)):
            records.append(self._update(now))
        for _ in range(_occurrences(rng, purchases * ONBOARD_RATE)):
            records.append(self._onboard(now))
        for _ in range(_occurrences(rng, purchases * CLOSE_RATE)):
            if len(self.customers) > self.n_customers // 2:
                records.append(self._close(now))
        if now >= self._next_month_at:
            self._next_month_at += self.month_seconds
            self._month = _month_after(self._month)
            records += self._snapshots(datetime.fromtimestamp(now, SHANGHAI))
        cards = self.feed.due(now)
        self.counts["card_records"] += len(cards)
        return records + cards

    def _update(self, now: float) -> EncodedEvent:
        index = self.rng.randrange(len(self.customers))
        customer = self.customers[index] = changed_profile(self.rng, self.customers[index])
        self.counts["customers_updated"] += 1
        return to_record(self.rng, updated(customer, _at(now)), _at(now))

    def _onboard(self, now: float) -> EncodedEvent:
        (customer,) = make_customers(self.rng, 1, _at(now))
        # Onboarded just now, not years ago as the starting population.
        customer = replace(customer, onboarded_at=_at(now))
        self.customers.append(customer)
        self._reweigh()
        self.counts["customers_onboarded"] += 1
        return to_record(self.rng, onboarded(customer), customer.onboarded_at)

    def _close(self, now: float) -> EncodedEvent:
        customer = self.customers.pop(self.rng.randrange(len(self.customers)))
        self._reweigh()
        self.counts["customers_closed"] += 1
        event = closed(customer, _at(now), self.rng.choice(CLOSE_REASONS))
        return to_record(self.rng, event, _at(now))

    def _snapshots(self, at: datetime) -> list[EncodedEvent]:
        records = snapshots_for(self.rng, self.customers, self._month, at, spread_s=0.0)
        self.counts["asset_snapshots"] += len(records)
        return records

    def _reweigh(self) -> None:
        self._cum = list(accumulate(c.activity for c in self.customers))


def _at(now: float) -> datetime:
    return datetime.fromtimestamp(now, SHANGHAI)


def _month_after(month: str) -> str:
    year, number = map(int, month.split("-"))
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def _occurrences(rng: random.Random, expected: float) -> int:
    """A whole number of events with the given expectation (keeps low rates honest)."""
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)
