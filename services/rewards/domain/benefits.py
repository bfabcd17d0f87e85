"""Lounge entitlements: how many visits a member's tier allows per calendar year, and what
a visit for some persons takes from the allowance and costs in points. The one copy of the
allowance rule: redemptions (`lounge_visit`) and the app's entitlements (`remaining_visits`)
both use `remaining_visits`.

The allowance follows the tier at the time of the visit; visits already used stay used
(a downgrade from Gold after two visits leaves none, an upgrade to OTO Fortune adds four).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts.tiers import TIERS, Tier

from .errors import refuse

#: The usage counter lounge visits are kept in (per calendar year, `lounge_period`).
LOUNGE = "lounge"


@dataclass(frozen=True, slots=True)
class Benefits:
    zone: ZoneInfo
    code_minutes: int
    points_per_person: int
    #: Visits per calendar year by tier; None is unlimited.
    visits_per_year: dict[Tier, int | None]

    def today(self, now: datetime) -> date:
        return now.astimezone(self.zone).date()


@dataclass(frozen=True, slots=True)
class LoungeDecision:
    taken: int          # visits taken from the year's allowance
    paid_persons: int   # persons beyond it
    points: int         # what they cost
    #: The visits used this year (lowest, highest; None: any) for which the decision is the
    #: same: a whole party inside the allowance fits as long as it does; otherwise only
    #: the count it was decided on.
    holds_for: tuple[int, int | None] = field(default=(0, None), compare=False)


def parse_benefits(raw: dict) -> Benefits:
    """Validate the benefits file; any mistake is a ValueError naming it."""
    _only(raw, {"timezone", "code_minutes", "lounge"}, "benefits")
    try:
        zone = ZoneInfo(raw["timezone"])
    except (KeyError, ZoneInfoNotFoundError) as exc:
        raise ValueError(f"benefits.timezone: {exc!r}") from exc
    code_minutes = raw.get("code_minutes")
    if not isinstance(code_minutes, int) or not 1 <= code_minutes <= 60:
        raise ValueError("benefits.code_minutes must be an integer from 1 to 60")
    lounge = raw.get("lounge", {})
    _only(lounge, {"points_per_person", "visits_per_year"}, "lounge")
    price = lounge.get("points_per_person")
    if not isinstance(price, int) or price <= 0:
        raise ValueError("lounge.points_per_person must be a positive integer")
    visits = lounge.get("visits_per_year", {})
    if set(visits) != set(TIERS):
        raise ValueError(f"lounge.visits_per_year must name exactly the tiers {TIERS}")
    allowance: dict[Tier, int | None] = {}
    for tier, value in visits.items():
        if value == "unlimited":
            allowance[tier] = None
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            allowance[tier] = value
        else:
            raise ValueError(f"lounge.visits_per_year.{tier}: a count >= 0 or 'unlimited'")
    return Benefits(zone=zone, code_minutes=code_minutes, points_per_person=price,
                    visits_per_year=allowance)


def remaining_visits(benefits: Benefits, tier: Tier, used: int) -> int | None:
    """Visits left this year after `used`; None is unlimited."""
    allowance = benefits.visits_per_year[tier]
    return None if allowance is None else max(0, allowance - used)


def lounge_visit(benefits: Benefits, tier: Tier, used: int, persons: int,
                 allow_points: bool) -> LoungeDecision:
    """What a visit by `persons` takes from the allowance left after `used` visits this
    year, and the points for the persons beyond it (refused unless points may be spent)."""
    remaining = remaining_visits(benefits, tier, used)
    taken = persons if remaining is None else min(remaining, persons)
    paid = persons - taken
    if paid and not allow_points:
        raise refuse("allowance_used_up",
                     f"{paid} of {persons} persons are beyond this year's lounge visits;"
                     " send allow_points=true to pay with points")
    allowance = benefits.visits_per_year[tier]
    holds_for = ((0, None) if allowance is None else (0, allowance - persons) if not paid
                 else (used, used))
    return LoungeDecision(taken=taken, paid_persons=paid,
                          points=paid * benefits.points_per_person, holds_for=holds_for)


def lounge_period(today: date) -> str:
    return str(today.year)


def _only(table: dict, allowed: set[str], where: str) -> None:
    if unknown := set(table) - allowed:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
