"""Tier decisions over a member's monthly asset snapshots, and the manual override.

Two tiers are tracked per member:
- the *asset tier*: what the asset rules say, always kept up to date;
- the *effective tier*: what the member has and what other services are told. It is the
  asset tier, unless a relationship manager's override is active.

Asset rules, decided only when a snapshot for a month NEWER than any seen arrives (a late,
duplicate or older month is kept in the history but never decides, so it cannot flip the
tier back and forth):
- upgrade in the first month whose assets qualify for a higher tier;
- downgrade only when the newest `downgrade_after_months` consecutive calendar months are
  all present, all after the month the tier was reached, and all below the tier; then to
  the tier the newest month qualifies for (several levels at once if need be). A missing
  month breaks the run: the member keeps the tier until the run is complete.
An asset change takes effect on the first day of the month after the snapshot's month.

Override: the effective tier is set until a date (inclusive); from the day after, the
asset tier applies again (reason `override_ended`). Asset decisions continue underneath.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from .programme import ENROLMENT_TIER, Tier, TierProgramme, rank

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


@dataclass(frozen=True, slots=True)
class TierState:
    tier: Tier                       # effective
    since: date                      # when the effective tier took (or takes) effect
    asset_tier: Tier
    asset_tier_month: Month | None   # the snapshot month that set asset_tier (None: enrolment)
    latest_month: Month | None       # newest snapshot month decided on
    override: Override | None = None

    @classmethod
    def enrolled(cls, on: date) -> TierState:
        return cls(ENROLMENT_TIER, on, ENROLMENT_TIER, None, None)


@dataclass(frozen=True, slots=True)
class TierChange:
    old_tier: Tier
    new_tier: Tier
    reason: Reason
    effective_date: date
    assets_month: Month | None = None
    override_id: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    state: TierState
    change: TierChange | None = None


def on_snapshot(state: TierState, history: Mapping[Month, Decimal], month: Month,
                today: date, programme: TierProgramme) -> Decision:
    """A snapshot of `month` arrived (it is already in `history`, the member's assets by
    month). `today` is the programme-zone date, for an override that has run out."""
    asset_tier, asset_month = state.asset_tier, state.asset_tier_month
    latest = state.latest_month
    reason: Reason | None = None
    if latest is None or month > latest:
        latest = month
        qualified = programme.qualifies_for(history[month])
        if rank(qualified) > rank(asset_tier):
            asset_tier, asset_month, reason = qualified, month, "assets_qualified"
        elif rank(qualified) < rank(asset_tier) and _grace_over(
                state, history, month, programme):
            asset_tier, asset_month, reason = qualified, month, "assets_below"
    new = replace(state, asset_tier=asset_tier, asset_tier_month=asset_month,
                  latest_month=latest)

    if new.override is not None:
        if today <= new.override.until:
            return Decision(new)  # the override holds; the asset tier waits underneath
        return end_override(new, today)
    if reason is None:
        return Decision(new)
    change = TierChange(state.tier, asset_tier, reason, first_day_after(month),
                        assets_month=month)
    return Decision(replace(new, tier=asset_tier, since=change.effective_date), change)


def _grace_over(state: TierState, history: Mapping[Month, Decimal], month: Month,
                programme: TierProgramme) -> bool:
    newest = month_number(month)
    run = [month_of(n) for n in range(newest - programme.downgrade_after_months + 1, newest + 1)]
    return all(
        m in history
        and (state.asset_tier_month is None or m > state.asset_tier_month)
        and rank(programme.qualifies_for(history[m])) < rank(state.asset_tier)
        for m in run)


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


def set_override(state: TierState, override: Override, today: date) -> Decision:
    """A relationship manager sets the tier from today until `override.until`; a newer
    override replaces an older one."""
    if override.until < today:
        raise ValueError("an override must last at least until today")
    if override.tier == state.tier:
        return Decision(replace(state, override=override))
    new = replace(state, tier=override.tier, since=today, override=override)
    return Decision(new, TierChange(state.tier, override.tier, "manual_override", today,
                                    override_id=override.id))


def end_override(state: TierState, today: date, *, early: bool = False) -> Decision:
    """The override ran out (the day after `until`) or was withdrawn (`early`: today);
    the asset tier applies again."""
    if state.override is None:
        return Decision(state)
    if not early and today <= state.override.until:
        return Decision(state)
    effective = today if early else state.override.until + timedelta(days=1)
    if state.asset_tier == state.tier:
        return Decision(replace(state, override=None))
    new = replace(state, tier=state.asset_tier, since=effective, override=None)
    return Decision(new, TierChange(state.tier, new.tier, "override_ended", effective,
                                    override_id=state.override.id))


def on_enrolment(history: Mapping[Month, Decimal], enrolled_on: date, today: date,
                 programme: TierProgramme) -> Decision:
    """A new member starts at Standard; snapshots that arrived before the enrolment (the
    two topics are consumed independently) decide at once, from the newest month."""
    state = TierState.enrolled(enrolled_on)
    if not history:
        return Decision(state)
    return on_snapshot(state, history, max(history), today, programme)
