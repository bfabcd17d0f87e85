"""The programme's tiers, lowest first: the one definition contracts and services share.
Their thresholds, multipliers and allowances are each service's configuration."""

from typing import Literal, get_args

Tier = Literal["standard", "gold", "oto_fortune", "private_banking"]
TIERS: tuple[Tier, ...] = get_args(Tier)
#: A new member's tier, and the tier assumed for a member a service has not heard of yet.
ENROLMENT_TIER: Tier = "standard"


def rank(tier: Tier) -> int:
    """0 for the lowest tier; comparing ranks says upgrade or downgrade."""
    return TIERS.index(tier)
