"""The partner and app API's request and response bodies (they make the OpenAPI document),
and the answers to partner POSTs as sent: the JSON body's bytes are what is stored for the
Idempotency-Key, so a replay answers byte for byte the same."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from .domain import redemptions as domain
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
    return Answer.of(status, view(r), location(r.id))


def settled(r: domain.Redemption) -> Answer:
    """The answer to a points-paid redemption the points service has answered."""
    if r.status == "rejected":
        return error(rejected(r.reason), r.id)
    return created(r)  # confirmed, or cancelled since
