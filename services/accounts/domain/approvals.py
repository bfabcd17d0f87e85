"""Which staff changes need a second approver (maker-checker)."""

from __future__ import annotations

from contracts.tiers import Tier, rank


def needs_second_approver(current: Tier, proposed: Tier, above_steps: int) -> bool:
    """A tier override moving the member more than `above_steps` tiers from the tier they
    have now (up or down) is a large change: it waits for another staff member's approval."""
    return abs(rank(proposed) - rank(current)) > above_steps
