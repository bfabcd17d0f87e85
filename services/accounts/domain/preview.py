"""What the next tier review would change for a member, before it runs: the staff preview
(api.py). Pure: the member's facts, decided by the same rules (domain/tiers.py,
domain/reviews.py) as if the next review had run.

- Yearly cadence: the next review is the first that has not run; it is decided from the
  snapshots there are now (an incomplete window says so: `months` counted, `complete`).
- Monthly cadence: each month's snapshot is that month's review, decided on arrival (an
  upgrade is never pending). The next is the month after the member's newest snapshot,
  assumed like the newest (`assumed_month`): a member in the last month of grace moves if
  it is below too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from contracts.tiers import Tier

from .programme import TierProgramme
from .reviews import assess, next_review
from .tiers import Month, Reason, TierFacts, asset_changes, month_number, month_of


@dataclass(frozen=True, slots=True)
class PendingMove:
    """An asset tier change the next review would make."""

    old_tier: Tier
    new_tier: Tier
    reason: Reason
    effective_date: date
    #: The assets compared with the thresholds: the window's average daily assets (yearly),
    #: the newest month's, assumed again (monthly).
    assets: Decimal
    #: The months that decide: the window's months present (yearly), the run of months
    #: below ending with the assumed one (monthly).
    months: tuple[Month, ...]
    complete: bool
    assumed_month: Month | None = None


def pending_move(facts: TierFacts, programme: TierProgramme) -> PendingMove | None:
    if programme.review.cadence == "monthly":
        return _next_month(facts, programme)
    review = next_review(programme.review, facts.reviews)
    if review is None:
        return None
    earlier = [d for d in facts.reviews if d < review.on]
    _, before, _ = asset_changes(facts.assets, programme, earlier)
    assessed = assess(review, facts.assets, before, programme)
    if assessed.reason is None or assessed.average is None:
        return None
    return PendingMove(before, assessed.tier, assessed.reason, review.on, assessed.average,
                       assessed.months, assessed.complete)


def _next_month(facts: TierFacts, programme: TierProgramme) -> PendingMove | None:
    if not facts.assets:
        return None
    newest = max(facts.assets)
    following = month_of(month_number(newest) + 1)
    assumed = {**facts.assets, following: facts.assets[newest]}
    changes, _, _ = asset_changes(assumed, programme)
    change = changes[-1] if changes else None
    if change is None or change.assets_month != following:
        return None
    last = month_number(following)
    run = tuple(month_of(n) for n in range(last - programme.downgrade_after_months + 1,
                                           last + 1))
    return PendingMove(change.old_tier, change.new_tier, change.reason, change.effective_date,
                       facts.assets[newest], run, True, following)
