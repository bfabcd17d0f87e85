"""The programme's earning rules as a validated model. The values live in `programme.toml`;
everything checkable is checked when the service starts, so a bad file stops the service
instead of crediting wrong points. Campaigns staff change later (domain/campaigns.py) are
checked the same way, with the rest of the rules, before they are stored."""

from __future__ import annotations

import re
from collections.abc import Iterable
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

from contracts.corebanking.v1 import PaymentChannel
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


#: Why a rule is there, for the bank's review of the programme: required, never blank.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
#: A channel's share of what a purchase would otherwise earn: 0 (nothing) to 1 (all).
Rate = Annotated[Decimal, BeforeValidator(_exact_decimal), Field(ge=0, le=1)]


class ExcludedCategory(_Config):
    id: RuleId
    mccs: MccSet
    reason: Reason


class BonusCategory(_Config):
    id: RuleId
    mccs: MccSet
    multiplier: Multiplier


class ChannelRule(_Config):
    """Purchases paid through these channels (e.g. Alipay, WeChat Pay: third-party payment
    institutions) earn `rate` times what they would otherwise earn; 0 earns nothing."""

    id: RuleId
    channels: frozenset[PaymentChannel] = Field(min_length=1)
    rate: Rate
    reason: Reason


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
    #: Only purchases paid through these channels; None: whatever the channel.
    channels: frozenset[PaymentChannel] | None = None

    @model_validator(mode="after")
    def _window_is_forward(self) -> Campaign:
        if self.ends_at <= self.starts_at:
            raise ValueError(f"campaign {self.id}: ends_at must be after starts_at")
        return self

    def applies(self, mcc: str, local_time: datetime, channel: str | None = None) -> bool:
        return (self.enabled and self.starts_at <= local_time < self.ends_at
                and (self.weekdays is None or local_time.isoweekday() in self.weekdays)
                and (self.mccs is None or mcc in self.mccs)
                and (self.channels is None or channel in self.channels))


class Caps(_Config):
    per_transaction: int = Field(gt=0)
    #: Bonus points a member may earn per calendar month: those of bonus categories and
    #: campaigns, and of the tier multiplier too if `monthly_bonus_counts_tier`.
    monthly_bonus: int = Field(ge=0)
    #: Whether the tier multiplier's uplift counts against `monthly_bonus`. If not (the
    #: shipped choice), a member whose allowance is used up still earns base x tier.
    monthly_bonus_counts_tier: bool = False

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
    channels: tuple[ChannelRule, ...] = ()
    campaigns: tuple[Campaign, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> EarningRules:
        missing = [t for t in TIERS if t not in self.tiers]
        if missing:
            raise ValueError(f"tiers without a multiplier: {', '.join(missing)}")
        ids = [self.base_rule, *(r.id for r in (*self.excluded, *self.bonus, *self.channels,
                                                *self.campaigns)),
               *(t.id for t in self.tiers.values())]
        if duplicated := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"rule ids used twice: {', '.join(duplicated)}")
        seen: dict[str, str] = {}
        for category in (*self.excluded, *self.bonus):
            for mcc in sorted(category.mccs):
                if mcc in seen:
                    raise ValueError(f"MCC {mcc} is in both {seen[mcc]} and {category.id}")
                seen[mcc] = category.id
        by_channel: dict[str, str] = {}
        for rule in self.channels:
            for channel in sorted(rule.channels):
                if channel in by_channel:
                    raise ValueError(f"channel {channel} is in both {by_channel[channel]}"
                                     f" and {rule.id}")
                by_channel[channel] = rule.id
        self._check_multipliers_fit()
        return self

    def _check_multipliers_fit(self) -> None:
        """The effective multiplier (category x tier x channel x campaigns) must fit the
        published event: at most 4 decimal places and below 1000, whatever combination
        applies. Only campaigns whose windows overlap can apply together (switched-off ones
        count as if on: staff may switch them on)."""
        fixed = [[b.multiplier for b in self.bonus] or [Decimal(1)],
                 [t.multiplier for t in self.tiers.values()],
                 [Decimal(1), *(r.rate for r in self.channels)]]
        for together in self._overlapping_campaigns():
            factors = [*fixed, *([c.multiplier] for c in together)]
            places = sum(max(_places(m) for m in group) for group in factors)
            largest = Decimal(1)
            for group in factors:
                largest *= max(group)
            if places > _MULTIPLIER_PLACES or largest >= 1000:
                raise ValueError("multipliers combine to more than 4 decimal places or"
                                 f" >= 1000 (campaigns {', '.join(c.id for c in together)})")

    def _overlapping_campaigns(self) -> list[list[Campaign]]:
        """The campaigns in force at each campaign's start: the largest sets in force at
        once (windows are intervals)."""
        return [[c for c in self.campaigns if c.starts_at <= s.starts_at < c.ends_at]
                for s in self.campaigns] or [[]]

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

    @cached_property
    def channel_rules(self) -> dict[str, ChannelRule]:
        return {channel: r for r in self.channels for channel in r.channels}

    def channel_rule(self, channel: str | None) -> ChannelRule | None:
        return self.channel_rules.get(channel) if channel else None

    def campaigns_at(self, mcc: str, local_time: datetime,
                     channel: str | None = None) -> list[Campaign]:
        return [c for c in self.campaigns if c.applies(mcc, local_time, channel)]

    def with_campaigns(self, campaigns: Iterable[Campaign]) -> EarningRules:
        """These rules with `campaigns` instead of the file's, checked as a whole (ids, the
        multipliers' fit); raises pydantic's ValidationError."""
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        return EarningRules.model_validate({**fields, "campaigns": tuple(campaigns)})


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def parse_rules(data: dict[str, Any]) -> EarningRules:
    """Validate the parsed TOML; raises pydantic's ValidationError with every problem."""
    return EarningRules.model_validate(data)
