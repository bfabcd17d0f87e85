"""The tier programme as a validated model: thresholds, the downgrade grace, the review
cadence (domain/reviews.py) and each tier's benefits. The tiers themselves are the
contracts' (contracts/tiers.py); the values live in `tiers.toml` (read by settings.py); a
bad file stops the service at start-up instead of putting members in the wrong tier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)

from contracts.tiers import TIERS, Tier, rank


def _exact_decimal(value: Any) -> Any:
    # A TOML float such as 1.2 is binary and inexact: amounts and factors are strings.
    if isinstance(value, float):
        raise ValueError(f"write amounts and multipliers as strings, e.g. \"{value}\"")
    return value


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


Amount = Annotated[Decimal, BeforeValidator(_exact_decimal), Field(ge=0, decimal_places=2)]
Multiplier = Annotated[Decimal, BeforeValidator(_exact_decimal), Field(ge=1, le=10)]


class _Config(BaseModel):
    # A misspelt key must fail at start-up, not be ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierRule(_Config):
    name: Annotated[str, Field(min_length=1, max_length=40)]
    name_zh: Annotated[str, Field(min_length=1, max_length=20)]
    min_assets: Amount
    #: Domestic airport lounge visits per calendar year; None = unlimited.
    lounge_visits_per_year: Annotated[int, Field(ge=0, le=365)] | Literal["unlimited"]
    points_multiplier: Multiplier

    @property
    def lounge_visits(self) -> int | None:
        return None if self.lounge_visits_per_year == "unlimited" else self.lounge_visits_per_year


@dataclass(frozen=True, slots=True)
class NextTier:
    tier: Tier
    min_assets: Decimal


#: Review dates of the yearly cadence: (month, day) of the yearly assessment and of the
#: half-yearly adjustment.
ASSESSMENT, ADJUSTMENT = (1, 1), (7, 1)


class ReviewRule(_Config):
    """When asset changes are decided (domain/reviews.py). `monthly`: each month's snapshot
    decides, with `downgrade_after_months` of grace. `yearly`: from `first_review` on, a
    yearly assessment on 1 January and a half-yearly adjustment (up only) on 1 July, run
    `run_after_days` after the date; months that take effect before it stay monthly."""

    cadence: Literal["monthly", "yearly"] = "monthly"
    first_review: date | None = None
    run_after_days: Annotated[int, Field(ge=0, le=60)] = 10

    @model_validator(mode="after")
    def _first_review(self) -> ReviewRule:
        if self.cadence == "monthly" and self.first_review is not None:
            raise ValueError("first_review is for the yearly cadence only")
        if self.cadence == "yearly" and (
                self.first_review is None
                or (self.first_review.month, self.first_review.day) not in (ASSESSMENT,
                                                                            ADJUSTMENT)):
            raise ValueError("the yearly cadence needs first_review on a 1 January or 1 July")
        return self


class TierProgramme(_Config):
    timezone: Annotated[str, AfterValidator(_known_zone)]
    downgrade_after_months: Annotated[int, Field(ge=1, le=12)]
    review: ReviewRule = ReviewRule()
    tiers: dict[Tier, TierRule]

    _zone: ZoneInfo = PrivateAttr()

    @model_validator(mode="after")
    def _consistent(self) -> TierProgramme:
        missing = [t for t in TIERS if t not in self.tiers]
        if missing:
            raise ValueError(f"tiers missing from the programme: {', '.join(missing)}")
        lowest, highest = TIERS[0], TIERS[-1]
        if self.tiers[lowest].min_assets != 0:
            raise ValueError(f"{lowest} must start at 0: every member has a tier")
        thresholds = [self.tiers[t].min_assets for t in TIERS]
        if any(low >= high for low, high in zip(thresholds, thresholds[1:], strict=False)):
            raise ValueError(f"min_assets must rise strictly from {lowest} to {highest}")
        return self

    def model_post_init(self, _context: Any) -> None:
        self._zone = ZoneInfo(self.timezone)

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def day_of(self, at: datetime) -> date:
        """The programme's date at the instant `at` (overrides and effective dates count
        in its time zone)."""
        return at.astimezone(self._zone).date()

    def qualifies_for(self, assets: Decimal) -> Tier:
        """The highest tier whose threshold `assets` reach."""
        return next(t for t in reversed(TIERS) if assets >= self.tiers[t].min_assets)

    def next_above(self, tier: Tier) -> NextTier | None:
        position = rank(tier) + 1
        if position == len(TIERS):
            return None
        above = TIERS[position]
        return NextTier(above, self.tiers[above].min_assets)


def parse_programme(data: dict[str, Any]) -> TierProgramme:
    """Validate the parsed TOML; raises pydantic's ValidationError with every problem."""
    return TierProgramme.model_validate(data)
