"""Which message a tier change is, by its cause, and the programme rule it states.

Each cause (`MemberTierChanged.reason`) has its own wording: assets reached a higher tier
(tier_upgraded), assets stayed below the tier (tier_downgraded, which states how many
months of assets decided it), a relationship manager set the tier (tier_set_by_staff), an
override ran out (tier_override_ended). The months are the tier programme's, as the
accounts service applies it (its tiers.toml, read by settings.py): a monthly cadence
downgrades after `downgrade_after_months` months below; a yearly one, from its first review
on, on the previous calendar year's assets (12 months).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from contracts.accounts.v1 import MemberTierChanged
from contracts.tiers import rank

#: The template of each cause.
TEMPLATES = {
    "assets_qualified": "tier_upgraded",
    "assets_below": "tier_downgraded",
    "manual_override": "tier_set_by_staff",
    "override_ended": "tier_override_ended",
}


@dataclass(frozen=True, slots=True)
class TierRule:
    """The tier programme's downgrade rule, as a message states it."""

    downgrade_after_months: int
    cadence: Literal["monthly", "yearly"] = "monthly"
    first_review: date | None = None

    def months_assessed(self, effective: date) -> int:
        """How many months of assets decided a downgrade that takes effect on `effective`."""
        reviewed = (self.cadence == "yearly" and self.first_review is not None
                    and effective >= self.first_review)
        return 12 if reviewed else self.downgrade_after_months


def tier_message(event: MemberTierChanged, rule: TierRule) -> tuple[str, dict[str, Any]] | None:
    """The template and facts of a tier change; None if the tier did not change. A change
    by assets reads as the way it went (up or down), the others as their cause."""
    if event.new_tier == event.old_tier:
        return None
    template = TEMPLATES[event.reason]
    if event.reason in ("assets_qualified", "assets_below"):
        up = rank(event.new_tier) > rank(event.old_tier)
        template = "tier_upgraded" if up else "tier_downgraded"
    facts: dict[str, Any] = {"tier": event.new_tier,
                             "effective_date": event.effective_date.isoformat()}
    if template == "tier_downgraded":
        facts["months"] = rule.months_assessed(event.effective_date)
    return template, facts
