"""What to announce so that the tier history other services were told says what the
timeline says (domain/tiers.py), however late the facts behind it arrived.

Consumers keep a member's tiers by effective date, the last announcement for a day winning
(points: services/points/sql/members.py). `published` is that view: for each day announced,
the tier last announced for it. The announcements that bring it in line, oldest day first:
- each change of the timeline the view lacks, or has with another tier, with its true
  effective date (old tier: what the view said for that day);
- for a day the view has and the timeline has no change on (a change that should never
  have happened), a change back, on the same day, to the timeline's tier of that day;
- if the last of those is older than the timeline's last change, that change once more
  (old tier = new tier), so that consumers keeping only the current tier (the last word,
  as rewards does) end on the right one.
When view and timeline agree nothing is announced: computing again reaches the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

from contracts.tiers import ENROLMENT_TIER, Tier

from .tiers import Override, TierChange, Timeline


def tier_on(view: Mapping[date, Tier], day: date) -> Tier:
    """The tier a view of announcements gives `day`."""
    before = [d for d in view if d <= day]
    return view[max(before)] if before else ENROLMENT_TIER


def announcements(published: Mapping[date, Tier], line: Timeline,
                  overrides: Sequence[Override] = ()) -> list[TierChange]:
    view = dict(published)
    changes = {c.effective_date: c for c in line.changes}
    out: list[TierChange] = []
    for day in sorted(view.keys() | changes.keys()):
        tier = line.tier_on(day)
        if view.get(day) == tier:
            continue
        change = changes.get(day) or _back(line, day, overrides)
        out.append(replace(change, old_tier=tier_on(view, day), new_tier=tier))
        view[day] = tier
    if out and line.changes and out[-1].effective_date < line.changes[-1].effective_date:
        last = line.changes[-1]
        out.append(replace(last, old_tier=last.new_tier))
    return out


def _back(line: Timeline, day: date, overrides: Sequence[Override]) -> TierChange:
    """The change that undoes what was announced for `day`, in the words of the change in
    force on that day (an override withdrawn the day it was set: its end)."""
    withdrawn = [o for o in overrides if o.starts_on == day]
    if withdrawn:
        return TierChange(ENROLMENT_TIER, ENROLMENT_TIER, "override_ended", day,
                          override_id=withdrawn[-1].id)  # the last set
    in_force = line.in_force(day)
    if in_force is None:
        return TierChange(ENROLMENT_TIER, ENROLMENT_TIER, "assets_below", day)
    return replace(in_force, effective_date=day)
