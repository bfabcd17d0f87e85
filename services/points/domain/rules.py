"""The programme's earning rules as a validated model. The values live in `programme.toml`;
everything checkable is checked when the service starts, so a bad file stops the service
instead of crediting wrong points."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from contracts.tiers import TIERS, Tier

RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{0,63}$")]
_MCC_OR_RANGE = re.compile(r"([0-9]{4})(?:-([0-9]{4}))?")
#: Published events carry at most 4 decimal places of the effective multiplier.
_MULTIPLIER_PLACES = 4


def _expand_mccs(items: Any) -> frozenset[str]:
    """["5812", "3000-3299"] -> the set of MCCs, so lookups are one set membership."""
    if not isinstance(items, list | tuple | set | frozenset):
        raise ValueError("expected a list of MCCs or ranges such as \"3000-3299\"")
    mccs: set[str] = set()
    for item in items:
        match = _MCC_OR_RANGE.fullmatch(str(item))
        if match is None:
            raise ValueError(f"{item!r} is neither an MCC nor a range such as 3000-3299")
        low, high = int(match[1]), int(match[2] or match[1])
        if high < low:
            raise ValueError(f"range {item!r} runs backwards")
        mccs.update(f"{code:04d}" for code in range(low, high + 1))
    return frozenset(mccs)


def _exact_decimal(value: Any) -> Any:
    # A TOML float such as 1.2 is binary and inexact; money-like factors are written as strings.
    if isinstance(value, float):
        raise ValueError(f"write multipliers as strings, e.g. \"{value}\"")
    return value


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError) as exc:  # unknown, malformed, or no tz database
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


MccSet = Annotated[frozenset[str], BeforeValidator(_expand_mccs)]
Multiplier = Annotated[Decimal, BeforeValidator(_exact_decimal), Field(ge=1, le=10)]


class _Config(BaseModel):
    # A misspelt key must fail at start-up, not be ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExcludedCategory(_Config):
    id: RuleId
    mccs: MccSet


class BonusCategory(_Config):
    id: RuleId
    mccs: MccSet
    multiplier: Multiplier


class TierRule(_Config):
    id: RuleId
    multiplier: Multiplier


class Campaign(_Config):
    """An extra multiplier inside the window [starts_at, ends_at), optionally only on some
    weekdays (ISO: 1 = Monday, in the programme's time zone) or for some MCCs."""

    id: RuleId
    enabled: bool = True
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    multiplier: Multiplier
    weekdays: frozenset[Annotated[int, Field(ge=1, le=7)]] | None = None
    mccs: MccSet | None = None

    @model_validator(mode="after")
    def _window_is_forward(self) -> Campaign:
        if self.ends_at <= self.starts_at:
            raise ValueError(f"campaign {self.id}: ends_at must be after starts_at")
        return self

    def applies(self, mcc: str, local_time: datetime) -> bool:
        return (self.enabled and self.starts_at <= local_time < self.ends_at
                and (self.weekdays is None or local_time.isoweekday() in self.weekdays)
                and (self.mccs is None or mcc in self.mccs))


class Caps(_Config):
    per_transaction: int = Field(gt=0)
    #: Bonus points (above base) a member may earn per calendar month.
    monthly_bonus: int = Field(ge=0)

    @property
    def per_transaction_id(self) -> str:
        return f"per-transaction-{self.per_transaction}"

    @property
    def monthly_bonus_id(self) -> str:
        return f"monthly-bonus-{self.monthly_bonus}"


class EarningRules(_Config):
    timezone: Annotated[str, AfterValidator(_known_zone)]
    base_rule: RuleId
    caps: Caps
    excluded: tuple[ExcludedCategory, ...]
    bonus: tuple[BonusCategory, ...]
    tiers: dict[Tier, TierRule]
    campaigns: tuple[Campaign, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> EarningRules:
        missing = [t for t in TIERS if t not in self.tiers]
        if missing:
            raise ValueError(f"tiers without a multiplier: {', '.join(missing)}")
        ids = [self.base_rule, *(r.id for r in (*self.excluded, *self.bonus, *self.campaigns)),
               *(t.id for t in self.tiers.values())]
        if duplicated := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"rule ids used twice: {', '.join(duplicated)}")
        seen: dict[str, str] = {}
        for category in (*self.excluded, *self.bonus):
            for mcc in sorted(category.mccs):
                if mcc in seen:
                    raise ValueError(f"MCC {mcc} is in both {seen[mcc]} and {category.id}")
                seen[mcc] = category.id
        self._check_multipliers_fit()
        return self

    def _check_multipliers_fit(self) -> None:
        """The effective multiplier (category x tier x campaigns) must fit the published
        event: at most 4 decimal places and below 1000, whatever combination applies."""
        factors = [[b.multiplier for b in self.bonus] or [Decimal(1)],
                   [t.multiplier for t in self.tiers.values()],
                   *([c.multiplier] for c in self.campaigns)]
        places = sum(max(_places(m) for m in group) for group in factors)
        largest = Decimal(1)
        for group in factors:
            largest *= max(group)
        if places > _MULTIPLIER_PLACES or largest >= 1000:
            raise ValueError("multipliers combine to more than 4 decimal places or >= 1000")

    # cached_property, not private attributes: read per purchase, and pydantic's lookup of a
    # private attribute costs a microsecond each time.
    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def categories_by_mcc(self) -> dict[str, ExcludedCategory | BonusCategory]:
        return {mcc: c for c in (*self.excluded, *self.bonus) for mcc in c.mccs}

    def category_of(self, mcc: str) -> ExcludedCategory | BonusCategory | None:
        return self.categories_by_mcc.get(mcc)

    def campaigns_at(self, mcc: str, local_time: datetime) -> list[Campaign]:
        return [c for c in self.campaigns if c.applies(mcc, local_time)]


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def parse_rules(data: dict[str, Any]) -> EarningRules:
    """Validate the parsed TOML; raises pydantic's ValidationError with every problem."""
    return EarningRules.model_validate(data)
