"""The yearly review cadence (tiers.toml `[review] cadence = "yearly"`): which review dates
there are, and what one review decides for a member from their monthly asset snapshots.

- Yearly assessment, 1 January of year Y, over January–December of Y-1: the tier the
  window's average daily assets qualify for becomes the member's asset tier, up or down,
  several levels at once if need be. A downgrade needs every month of the window (a missing
  month keeps the tier, as it breaks the monthly cadence's run of months below); an upgrade
  counts the months present.
- Half-yearly adjustment, 1 July of year Y, over January–June of Y: up only; a member below
  their tier keeps it until the yearly assessment.

The window's average daily assets are its months' (those present) weighted by their days: a
month's average daily assets times its days is that month's total, so the sum over the
window divided by its days is the window's own average. It is rounded down to the fen, and
that figure is compared with the thresholds. No month present: no change.

A review's change takes effect on its date. The review is run by a job
(handlers/reviews.py) `run_after_days` after that date, once the window's last snapshots
are in; the timeline (domain/tiers.py) counts only the reviews that have run.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from itertools import takewhile
from typing import Literal

from contracts.tiers import Tier, rank

from .programme import ADJUSTMENT, ASSESSMENT, ReviewRule, TierProgramme

Kind = Literal["assessment", "adjustment"]
Move = Literal["assets_qualified", "assets_below"]
FEN = Decimal("0.01")


@dataclass(frozen=True, slots=True, order=True)
class Review:
    on: date  # the review date: its changes take effect that day

    @property
    def kind(self) -> Kind:
        return "assessment" if (self.on.month, self.on.day) == ASSESSMENT else "adjustment"

    @property
    def window(self) -> tuple[str, ...]:
        """The months ("YYYY-MM") the review assesses."""
        if self.kind == "assessment":
            return tuple(f"{self.on.year - 1:04d}-{m:02d}" for m in range(1, 13))
        return tuple(f"{self.on.year:04d}-{m:02d}" for m in range(1, 7))


def schedule(rule: ReviewRule) -> Iterator[Review]:
    """The cadence's reviews in date order, from the first (endless); none for the monthly
    cadence."""
    if rule.cadence == "monthly" or rule.first_review is None:
        return
    year = rule.first_review.year
    while True:
        for month, day in (ASSESSMENT, ADJUSTMENT):
            review = Review(date(year, month, day))
            if review.on >= rule.first_review:
                yield review
        year += 1


def due(rule: ReviewRule, today: date) -> list[Review]:
    """The reviews whose run day (`run_after_days` after the date) has come by `today`."""
    last = today - timedelta(days=rule.run_after_days)
    return list(takewhile(lambda r: r.on <= last, schedule(rule)))


def next_review(rule: ReviewRule, run: Collection[date]) -> Review | None:
    """The first review that has not run (the next the job will run)."""
    return next((r for r in schedule(rule) if r.on not in run), None)


def run_reviews(rule: ReviewRule, run: Collection[date]) -> list[Review]:
    """The reviews among `run` the cadence has, in date order (others are ignored: a review
    run under another configuration)."""
    if not run:
        return []
    last = max(run)
    return [r for r in takewhile(lambda r: r.on <= last, schedule(rule)) if r.on in run]


@dataclass(frozen=True, slots=True)
class Assessment:
    """What one review decides for one member, and from what."""

    review: Review
    before: Tier
    tier: Tier                    # after the review
    reason: Move | None           # None: no change
    average: Decimal | None       # the window's average daily assets (None: no month)
    months: tuple[str, ...]       # the window's months present

    @property
    def complete(self) -> bool:
        return len(self.months) == len(self.review.window)


def assess(review: Review, assets: Mapping[str, Decimal], tier: Tier,
           programme: TierProgramme) -> Assessment:
    """The review of a member whose asset tier is `tier` on the day before it."""
    months = tuple(m for m in review.window if m in assets)
    if not months:
        return Assessment(review, tier, tier, None, None, months)
    average = window_average({m: assets[m] for m in months})
    qualified = programme.qualifies_for(average)
    complete = len(months) == len(review.window)
    reason: Move | None = None
    if rank(qualified) > rank(tier):
        reason = "assets_qualified"
    elif rank(qualified) < rank(tier) and review.kind == "assessment" and complete:
        reason = "assets_below"
    return Assessment(review, tier, qualified if reason else tier, reason, average, months)


def window_average(assets: Mapping[str, Decimal]) -> Decimal:
    """Average daily assets over the months given, each weighted by its days, rounded down
    to the fen."""
    days = {m: calendar.monthrange(int(m[:4]), int(m[5:]))[1] for m in assets}
    total = sum((assets[m] * days[m] for m in assets), Decimal(0))
    return (total / sum(days.values())).quantize(FEN, rounding=ROUND_DOWN)
