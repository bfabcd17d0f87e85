"""Giving points: a member donates points to a charity partner from the app. A donation is
a redemption of its own kind (`kind` "donation", the charity its partner and its item): it
always costs points, so it is pending until the points service debits them (the saga of
domain/redemptions.py), which never overdraws; then confirmed, or rejected
(`insufficient_points`). It takes no usage and cannot be cancelled (no partner asks).

A request is decided in this order: the charity is configured, the member is not closed,
the points are within the charity's bounds for one donation. The yearly total a member's
statement shows is of the confirmed donations made in the calendar year (the programme's
time zone)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import refuse
from .partners import Partner
from .redemptions import Redemption

CHARITY_ID = r"^chr_[a-z0-9_]{1,60}$"
#: The usage item a donation names: it takes none (`usage_taken` 0, no period).
DONATION = "donation"
Name = Annotated[str, Field(min_length=1, max_length=64)]


class Charity(BaseModel):
    """A charity partner, as configured (charities.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: Annotated[str, Field(pattern=CHARITY_ID)]
    name_zh: Name = Field(alias="zh-CN")
    name_en: Name = Field(alias="en-US")
    min_points: Annotated[int, Field(ge=1)]
    max_points: Annotated[int, Field(ge=1, le=10_000_000)]

    @model_validator(mode="after")
    def _bounds(self) -> Charity:
        if self.min_points > self.max_points:
            raise ValueError(f"{self.id}: min_points above max_points")
        return self


def parse_charities(raw: Mapping) -> dict[str, Charity]:
    """Validate the charities file; any mistake is a ValueError naming it."""
    if set(raw) - {"charities"}:
        raise ValueError(f"charities: unknown keys {sorted(set(raw) - {'charities'})}")
    charities: dict[str, Charity] = {}
    for n, entry in enumerate(raw.get("charities", [])):
        try:
            charity = Charity.model_validate(
                {**{k: v for k, v in entry.items() if k != "name"}, **entry.get("name", {})})
        except (ValidationError, AttributeError) as exc:
            raise ValueError(f"charities[{n}]: {exc}") from None
        if charity.id in charities:
            raise ValueError(f"charities[{n}]: {charity.id} named twice")
        charities[charity.id] = charity
    return charities


def donation(charity: Charity | None, charity_id: str, points: int, *, member_id: str,
             closed: bool, id: str, now: datetime) -> Redemption:
    """A pending donation asking the points service for the debit, or a refusal. `closed`:
    the member's closure as the accounts service told it (not told yet: not closed; the
    points service rejects a member it does not know)."""
    if charity is None:
        raise refuse("unknown_charity", f"no charity {charity_id}")
    if closed:
        raise refuse("member_closed", "the member's benefits have ended")
    if not charity.min_points <= points <= charity.max_points:
        raise refuse("donation_out_of_range",
                      f"a donation to {charity.id} is {charity.min_points} to"
                      f" {charity.max_points} points")
    # The charity is the donation's partner: one without keys, scopes or items.
    partner = Partner(id=charity.id, name=charity.name_en, scopes=frozenset(), lounges=(),
                      offers=(), rate_per_second=1)
    r = Redemption.make(id=id, partner=partner, member_id=member_id, kind="donation",
                        item_id=charity.id, title=charity.name_zh, persons=1, points=points,
                        counter=(DONATION, ""), taken=0, valid_on=None, now=now)
    r.title_en = charity.name_en
    return r


def request_hash(charity_id: str, points: int) -> bytes:
    """What a member's Idempotency-Key is bound to."""
    return hashlib.sha256(f"donation\n{charity_id}\n{points}".encode()).digest()


def idempotency_owner(member_id: str) -> str:
    """Whose key it is, beside partners' ids (a colon no partner id has)."""
    return f"member:{member_id}"


def year_bounds(year: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar year in the programme's time zone: [start, end)."""
    return datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)


@dataclass(frozen=True, slots=True)
class YearTotal:
    year: int
    points: int
    count: int


def year_total(year: int, donations: Iterable[Redemption]) -> YearTotal:
    """The confirmed donations' points and count (pending and rejected ones gave nothing)."""
    given = [d.points for d in donations if d.status == "confirmed"]
    return YearTotal(year, sum(given), len(given))
