"""The partner, app and staff API's request and response bodies (they make the OpenAPI
document), and the answers to partner POSTs as sent: the JSON body's bytes are what is
stored for the Idempotency-Key, so a replay answers byte for byte the same."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from contracts.tiers import Tier

from .domain import redemptions as domain
from .domain.catalogue import LoungeEntry, OfferEntry
from .domain.errors import Refused, rejected


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoungeRedemptionRequest(_Request):
    code: str = Field(min_length=8, max_length=16, description="The member's redemption code.")
    lounge_id: str = Field(min_length=1, max_length=64, examples=["PEK-T3-01"])
    guests: int = Field(default=0, ge=0, le=9, description="Accompanying guests; each uses"
                        " one visit of the member's allowance.")
    allow_points: bool = Field(default=False, description="The member agreed to pay with"
                               " points for the persons beyond this year's allowance.")


class OfferRedemptionRequest(_Request):
    code: str = Field(min_length=8, max_length=16)
    offer_id: str = Field(min_length=1, max_length=64, examples=["off_coffee_00_0"])


class Redemption(BaseModel):
    """A redemption as its partner sees it: no customer id, no personal data."""

    id: str
    kind: Literal["lounge", "offer"]
    item_id: str
    title: str
    persons: int
    points: int = Field(description="Points paid through the points service; 0 if none.")
    status: Literal["pending", "confirmed", "rejected", "cancelled"]
    reason: str | None = None
    valid_on: date | None = None
    refund_status: Literal["requested", "refunded"] | None = None
    created_at: datetime
    settled_at: datetime | None = None
    cancelled_at: datetime | None = None


class RedemptionPage(BaseModel):
    items: list[Redemption]
    next_before: str | None = Field(description="Pass as `before` for the next page.")


class Error(BaseModel):
    code: str = Field(description="Stable: program against it, not against the message.")
    message: str
    redemption_id: str | None = None


class CodeIssued(BaseModel):
    code: str = Field(examples=["7K3QX-9M2TB"])
    expires_at: datetime


class LoungeEntitlement(BaseModel):
    year: int
    allowance: int | None = Field(description="Visits this year at the current tier;"
                                  " null is unlimited.")
    used: int
    remaining: int | None
    points_per_person_beyond: int


class Entitlements(BaseModel):
    tier: str
    closed: bool
    lounge: LoungeEntitlement


# ---------------------------------------------------------------------- answers as sent

class Answer(NamedTuple):
    """Status, body and Location: as sent, and as stored for the Idempotency-Key."""

    status: int
    content: bytes
    location: str | None = None

    @classmethod
    def of(cls, status: int, body: dict, location: str | None = None) -> Answer:
        return cls(status, render(body), location)


def render(body: dict) -> bytes:
    """JSON as the HTTP layer renders it (compact, UTF-8)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def error(exc: Refused, redemption_id: str | None = None) -> Answer:
    body = {"code": exc.code, "message": exc.message}
    if redemption_id:
        body["redemption_id"] = redemption_id
    return Answer.of(exc.status, body)


def view(r: domain.Redemption) -> dict:
    return Redemption.model_validate(r, from_attributes=True).model_dump(mode="json")


def location(redemption_id: str) -> str:
    return f"/v1/redemptions/{redemption_id}"


def created(r: domain.Redemption, status: int = 201) -> Answer:
    # Straight to JSON bytes (pydantic-core): the bytes `render(view(r))` gives, without
    # the dict in between (a quarter of the time, on every redemption's answer).
    body = Redemption.model_validate(r, from_attributes=True).model_dump_json().encode()
    return Answer(status, body, location(r.id))


def settled(r: domain.Redemption) -> Answer:
    """The answer to a points-paid redemption the points service has answered."""
    if r.status == "rejected":
        return error(rejected(r.reason), r.id)
    if r.kind == "donation":
        return donated(r)
    return created(r)  # confirmed, or cancelled since


# ---------------------------------------------------------------------- the catalogue

OFFER_ID = r"^off_[A-Za-z0-9_-]{1,60}$"
LOUNGE_ID = r"^[A-Z]{3}-[A-Za-z0-9]{1,8}-[0-9]{2}$"
OfferId = Annotated[str, Field(pattern=OFFER_ID, examples=["off_coffee_00_0"])]
LoungeId = Annotated[str, Field(pattern=LOUNGE_ID, examples=["ZUH-T1-01"])]
PartnerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["ptn_coffee_00"])]
Text = Annotated[str, Field(min_length=1, max_length=64)]
City = Annotated[str, Field(min_length=1, max_length=32, examples=["珠海"])]
Reason = Annotated[str | None, Field(default=None, min_length=3, max_length=500,
                                     description="Why; kept in the audit.")]


class _OfferFields(_Request):
    merchant: Text
    industry: Annotated[str, Field(pattern=r"^[a-z_]{1,32}$", examples=["beauty"])]
    title: Text
    points_price: Annotated[int, Field(gt=0, le=10_000_000)] | None = Field(
        default=None, description="Points it costs; or a discount, not both.")
    discount_percent: Annotated[int, Field(ge=1, le=99)] | None = None
    valid_from: date = Field(description="First day (Asia/Shanghai) it may be redeemed; a"
                             " later day schedules it.")
    valid_until: date = Field(description="Last day, inclusive.")
    eligible_tiers: list[Tier] = Field(min_length=1, max_length=4)
    limit_per_period: Annotated[int, Field(ge=1, le=1000)]
    period: Literal["day", "month", "year"]
    cities: list[City] = Field(default=[], max_length=400,
                               description="Where it is redeemable; empty: everywhere.")


class OfferCreate(_OfferFields):
    id: OfferId
    partner_id: PartnerId = Field(description="The merchant's partner: told of every change.")
    reason: Reason = None


class OfferChange(_Request):
    """The fields to change (at least one); the others stay."""

    merchant: Text | None = None
    industry: Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")] | None = None
    title: Text | None = None
    points_price: Annotated[int, Field(gt=0, le=10_000_000)] | None = None
    discount_percent: Annotated[int, Field(ge=1, le=99)] | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    eligible_tiers: list[Tier] | None = Field(default=None, min_length=1, max_length=4)
    limit_per_period: Annotated[int, Field(ge=1, le=1000)] | None = None
    period: Literal["day", "month", "year"] | None = None
    cities: list[City] | None = Field(default=None, max_length=400)
    reason: Reason = None


class LoungeCreate(_Request):
    id: LoungeId
    airport_code: Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["ZUH"])]
    city: City
    terminal: Annotated[str, Field(min_length=1, max_length=16)]
    name: Text
    operator_id: PartnerId = Field(description="The operating partner: told of every change.")
    operator: Text
    valid_from: date | None = None
    valid_until: date | None = None
    reason: Reason = None


class LoungeChange(_Request):
    city: City | None = None
    terminal: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    name: Text | None = None
    operator: Text | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    reason: Reason = None


class Withdrawal(_Request):
    reason: Annotated[str, Field(min_length=3, max_length=500)]


class CatalogueChangeView(BaseModel):
    """One change of the audit, oldest first by `version`."""

    version: int
    kind: Literal["offer", "lounge"]
    entry_id: str
    partner_id: str
    change: Literal["created", "changed", "withdrawn"]
    at: datetime
    after: dict
    before: dict | None
    staff_id: str | None = Field(default=None, description="Staff only.")
    reason: str | None = Field(default=None, description="Staff only.")


class CatalogueChanges(BaseModel):
    changes: list[CatalogueChangeView]
    next_after: int | None = Field(description="Pass as `after` for the next page.")


class PartnerCatalogue(BaseModel):
    """The partner's own entries, withdrawn ones too, as of `version` (each as the domain
    holds it: domain/catalogue.py)."""

    version: int
    offers: list[OfferEntry]
    lounges: list[LoungeEntry]


class BrowsedOffer(BaseModel):
    id: str
    merchant: str
    industry: str
    title: str
    points_price: int | None
    discount_percent: int | None
    valid_until: date
    eligible_tiers: list[str]
    cities: list[str] = Field(description="Where it is redeemable; empty: everywhere.")
    period: Literal["day", "month", "year"]
    limit_per_period: int
    redeemable: bool = Field(description="Open to the member's own tier.")
    used: int = Field(description="Redeemed by the member in the current period.")
    remaining: int = Field(description="Left in the current period (day, month or year).")


class OfferPage(BaseModel):
    tier: str = Field(description="The member's tier.")
    items: list[BrowsedOffer]
    next_after: str | None = Field(description="Pass as `after` for the next page.")


class BrowsedLounge(BaseModel):
    id: str
    airport_code: str
    city: str
    terminal: str
    name: str


class LoungePage(BaseModel):
    tier: str
    lounge: LoungeEntitlement = Field(description="The member's visits this year.")
    items: list[BrowsedLounge]
    next_after: str | None


# ---------------------------------------------------------------------- donations

class DonationRequest(_Request):
    charity_id: str = Field(min_length=1, max_length=64, examples=["chr_spring_buds"])
    points: int = Field(gt=0, le=10_000_000, description="Within the charity's bounds for"
                        " one donation (`GET .../charities`).")


class Donation(BaseModel):
    """A member's donation as the app shows it."""

    id: str
    charity_id: str
    charity: str = Field(description="The charity's name in Chinese.")
    charity_en: str | None = Field(description="Its name in English.")
    points: int
    status: Literal["pending", "confirmed", "rejected"] = Field(
        description="Pending until the points service debits the points.")
    reason: str | None = Field(default=None, description="Why it was rejected.")
    created_at: datetime
    settled_at: datetime | None = None


class DonationYear(BaseModel):
    """A member's donations of a calendar year (Asia/Shanghai), for their statement."""

    year: int
    total_points: int = Field(description="Of the confirmed donations.")
    count: int = Field(description="Confirmed donations.")
    items: list[Donation] = Field(description="Every donation of the year, oldest first.")


class CharityView(BaseModel):
    id: str
    name: str
    name_en: str
    min_points: int
    max_points: int


def donation_view(r: domain.Redemption) -> Donation:
    return Donation(id=r.id, charity_id=r.item_id, charity=r.title, charity_en=r.title_en,
                    points=r.points, status=r.status, reason=r.reason,  # type: ignore[arg-type]
                    created_at=r.created_at, settled_at=r.settled_at)


def donated(r: domain.Redemption, status: int = 201) -> Answer:
    """The answer to a donation: 201 once confirmed, 202 while pending (its rejection is an
    error, as a redemption's: `settled`)."""
    return Answer(status, donation_view(r).model_dump_json().encode())
