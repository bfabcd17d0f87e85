"""A member's tier timeline: a pure function of their facts (enrolment, monthly asset
snapshots, staff overrides), folded in event time, so the same facts give the same timeline
whatever order the topics delivered them in.

Two tiers are tracked per member:
- the *asset tier*: what the asset rules say, month by month;
- the *effective tier*: what the member has and what other services are told. It is the
  asset tier, unless a relationship manager's override is in force.

Asset rules, monthly cadence (tiers.toml `[review]`, the default), over every snapshot month
in calendar order (however late it arrived):
- upgrade in the first month whose assets qualify for a higher tier;
- downgrade only when `downgrade_after_months` consecutive calendar months are all present,
  all after the month the tier was reached, and all below the tier; then to the tier the
  last of them qualifies for (several levels at once if need be). A missing month breaks
  the run: the member keeps the tier until a run is complete.
A change decided by a month's snapshot takes effect on the first day of the next month.
Yearly cadence: the months whose change would take effect before `first_review` are decided
as above; from then on only the reviews that have run (`TierFacts.reviews`) change the
asset tier, each on its date, as domain/reviews.py decides.
Months before the enrolment count like the others: they are facts about the customer, and
each change keeps its true date.

Overrides: the override's tier is the effective tier from the day it was set until its last
day (`until`, inclusive), or until it was withdrawn or replaced (`ended_on`); from then on
the asset tier applies again (reason `override_ended`). While `until` is not past, the end
is not decided yet: the override is in force.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from contracts.tiers import ENROLMENT_TIER, Tier, rank

from .programme import TierProgramme
from .reviews import assess, run_reviews

Reason = Literal["assets_qualified", "assets_below", "manual_override", "override_ended"]
#: "YYYY-MM"; strings of this form sort like the months they name.
Month = str


def month_number(month: Month) -> int:
    year, number = month.split("-")
    return int(year) * 12 + int(number) - 1


def month_of(number: int) -> Month:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def first_day_after(month: Month) -> date:
    """When a change decided by `month`'s snapshot takes effect."""
    following = month_number(month) + 1
    return date(following // 12, following % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Override:
    id: int
    tier: Tier
    #: Last day (inclusive, programme time zone) the override applies.
    until: date
    #: The day it was set: the first day it applies.
    starts_on: date
    #: Withdrawn or replaced: the first day it no longer applies.
    ended_on: date | None = None

    def end(self, today: date) -> date | None:
        """The first day without the override, or None while it is in force."""
        after_last_day = self.until + timedelta(days=1)
        if self.ended_on is not None:
            return min(self.ended_on, after_last_day)
        return after_last_day if self.until < today else None


@dataclass(frozen=True, slots=True)
class TierFacts:
    """Everything a member's timeline is decided from."""

    enrolled_on: date
    #: Average daily assets by month: the first delivery of each month.
    assets: Mapping[Month, Decimal]
    overrides: Sequence[Override] = ()
    #: The dates of the reviews that have run (yearly cadence: handlers/reviews.py).
    reviews: Collection[date] = frozenset()


@dataclass(frozen=True, slots=True)
class TierState:
    """Where the timeline ends: the member's tier status now."""

    tier: Tier                       # effective
    since: date                      # when the effective tier took (or takes) effect
    asset_tier: Tier
    asset_tier_month: Month | None   # the snapshot month that set asset_tier (None: enrolment)
    latest_month: Month | None       # newest snapshot month
    override: Override | None = None  # in force


@dataclass(frozen=True, slots=True)
class TierChange:
    old_tier: Tier
    new_tier: Tier
    reason: Reason
    effective_date: date
    assets_month: Month | None = None
    override_id: int | None = None


@dataclass(frozen=True, slots=True)
class Timeline:
    """Every change of the effective tier, oldest first (at most one per day), and the
    status they end in."""

    changes: tuple[TierChange, ...]
    state: TierState

    def in_force(self, day: date) -> TierChange | None:
        """The change whose tier applies on `day` (None: the enrolment tier)."""
        return _in_force(self.changes, day)

    def tier_on(self, day: date) -> Tier:
        change = self.in_force(day)
        return change.new_tier if change else ENROLMENT_TIER


def timeline(facts: TierFacts, today: date, programme: TierProgramme) -> Timeline:
    """The member's effective tier over time: the asset changes, with the overrides on top.
    `today` (programme zone) says which overrides have run out."""
    assets, asset_tier, asset_month = asset_changes(facts.assets, programme, facts.reviews)
    ends = {o.id: o.end(today) for o in facts.overrides}
    days = sorted({c.effective_date for c in assets}
                  | {o.starts_on for o in facts.overrides}
                  | {end for end in ends.values() if end is not None})
    tier, previous, changes = ENROLMENT_TIER, None, []
    for day in days:
        override = _override_on(facts.overrides, ends, day)
        asset = _in_force(assets, day)
        new = override.tier if override else (asset.new_tier if asset else ENROLMENT_TIER)
        if new != tier:
            if override is not None:  # an override set (an override's tier never changes)
                change = TierChange(tier, new, "manual_override", day, override_id=override.id)
            elif previous is not None:
                change = TierChange(tier, new, "override_ended", day, override_id=previous.id)
            else:  # without an override only the assets change it, on this very day
                assert asset is not None and asset.effective_date == day
                change = TierChange(tier, new, asset.reason, day, asset.assets_month)
            changes.append(change)
            tier = new
        previous = override
    in_force = [o for o in facts.overrides if ends[o.id] is None]
    state = TierState(
        tier=tier, since=changes[-1].effective_date if changes else facts.enrolled_on,
        asset_tier=asset_tier, asset_tier_month=asset_month,
        latest_month=max(facts.assets, default=None),
        override=max(in_force, key=_newest) if in_force else None)
    return Timeline(tuple(changes), state)


def asset_changes(assets: Mapping[Month, Decimal], programme: TierProgramme,
                  reviews: Collection[date] = (),
                  ) -> tuple[list[TierChange], Tier, Month | None]:
    """The asset tier's changes in date order, and where it ends (the tier and the month
    that set it: a review's, the last of its window): month by month, then (yearly cadence)
    review by review among those that have run."""
    tier: Tier = ENROLMENT_TIER
    reached: Month | None = None
    changes: list[TierChange] = []
    rule = programme.review
    monthly_until = rule.first_review if rule.cadence == "yearly" else None
    for month in sorted(assets):
        if monthly_until is not None and first_day_after(month) >= monthly_until:
            break  # the reviews decide from here on
        qualified = programme.qualifies_for(assets[month])
        reason: Reason
        if rank(qualified) > rank(tier):
            reason = "assets_qualified"
        elif rank(qualified) < rank(tier) and _grace_over(assets, month, tier, reached,
                                                          programme):
            reason = "assets_below"
        else:
            continue
        changes.append(TierChange(tier, qualified, reason, first_day_after(month),
                                  assets_month=month))
        tier, reached = qualified, month
    for review in run_reviews(rule, reviews):
        assessed = assess(review, assets, tier, programme)
        if assessed.reason is not None:
            changes.append(TierChange(tier, assessed.tier, assessed.reason, review.on,
                                      assets_month=review.window[-1]))
            tier, reached = assessed.tier, review.window[-1]
    return changes, tier, reached


def _grace_over(assets: Mapping[Month, Decimal], month: Month, tier: Tier,
                reached: Month | None, programme: TierProgramme) -> bool:
    newest = month_number(month)
    run = [month_of(n) for n in range(newest - programme.downgrade_after_months + 1, newest + 1)]
    return all(m in assets and (reached is None or m > reached)
               and rank(programme.qualifies_for(assets[m])) < rank(tier) for m in run)


def _newest(override: Override) -> tuple[date, int]:
    return override.starts_on, override.id


def _override_on(overrides: Sequence[Override], ends: Mapping[int, date | None],
                 day: date) -> Override | None:
    """The override in force on `day`; should two overlap, the one set last."""
    covering = [o for o in overrides
                if o.starts_on <= day and (ends[o.id] is None or day < ends[o.id])]
    return max(covering, key=_newest) if covering else None


def _in_force(changes: Sequence[TierChange], day: date) -> TierChange | None:
    found = None
    for change in changes:  # oldest first
        if change.effective_date > day:
            break
        found = change
    return found


def months_below(state: TierState, history: Mapping[Month, Decimal],
                 programme: TierProgramme) -> int:
    """How many consecutive months, up to the newest, the assets were below the asset tier
    (what the app shows as grace used)."""
    if state.latest_month is None:
        return 0
    count, number = 0, month_number(state.latest_month)
    while True:
        m = month_of(number - count)
        if (m not in history or (state.asset_tier_month is not None
                                 and m <= state.asset_tier_month)
                or rank(programme.qualifies_for(history[m])) >= rank(state.asset_tier)):
            return count
        count += 1


def with_override(facts: TierFacts, override: Override) -> TierFacts:
    """A relationship manager sets the tier from today (`override.starts_on`) until
    `override.until`; it replaces the override in force, which ends today."""
    today = override.starts_on
    if override.until < today:
        raise ValueError("an override must last at least until today")
    return replace(facts, overrides=(*_ended(facts.overrides, today), override))


def without_override(facts: TierFacts, today: date) -> TierFacts:
    """The override in force is withdrawn: from today the asset tier applies again."""
    return replace(facts, overrides=_ended(facts.overrides, today))


def _ended(overrides: Sequence[Override], today: date) -> tuple[Override, ...]:
    return tuple(replace(o, ended_on=today) if o.end(today) is None else o for o in overrides)
