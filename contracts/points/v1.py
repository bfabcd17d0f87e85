"""Points ledger events, major version 1. Keyed by `member_id` (equal to the customer id)."""

from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, WithJsonSchema

from .. import topics
from ..base import Event, EventPart
from ..fields import PLAIN_DECIMAL, CnyAmount, Identifier, MemberId, Timestamp
from ..industries import Industry
from ..tiers import Tier

Points = Annotated[int, Field(gt=0)]
Multiplier = Annotated[
    Decimal,
    Field(gt=0, max_digits=7, decimal_places=4),
    PLAIN_DECIMAL,
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,3}(\.[0-9]{1,4})?$"}),
]


class _PointsEvent(Event):
    topic: ClassVar[str] = topics.POINTS_V1
    subject_field: ClassVar[str] = "member_id"

    member_id: MemberId


class Calculation(EventPart):
    """How the points of one transaction were worked out, for support and audit."""

    spend_cny: CnyAmount
    base_points: Annotated[int, Field(ge=0)]
    bonus_points: Annotated[int, Field(ge=0)]
    multiplier: Multiplier
    tier: Tier
    rule_ids: list[str] = Field(description="Earning rules and campaigns that applied.")
    caps_applied: list[str] = Field(description="Caps that cut the points, if any.")


class PointsEarned(_PointsEvent):
    ce_type: ClassVar[str] = "points.earned"

    transaction_id: Identifier
    points: Annotated[int, Field(ge=0)]
    calculation: Calculation
    expires_on: date
    earned_at: Timestamp


class PointsReversed(_PointsEvent):
    """Points taken back because the purchase that earned them was refunded."""

    ce_type: ClassVar[str] = "points.reversed"

    refund_id: Identifier
    transaction_id: Identifier
    points: Points
    reversed_at: Timestamp


class PointsRerated(_PointsEvent):
    """A purchase's points worked out again because the member's tier on its date changed
    (a tier decision learned late). `points_moved` is what the ledger moved for it: credited
    when positive, taken back when negative; `points` and `calculation` are the purchase's
    whole rating now. Its spend is not new spend."""

    ce_type: ClassVar[str] = "points.rerated"

    transaction_id: Identifier = Field(description="The purchase re-rated.")
    revision: Annotated[int, Field(ge=1)] = Field(
        description="1 for the purchase's first re-rating, then 2, ...")
    points_moved: int = Field(description="Non-zero: > 0 credited, < 0 taken back.")
    points: Annotated[int, Field(ge=0)]
    calculation: Calculation
    expires_on: date
    rerated_at: Timestamp


class PointsDebited(_PointsEvent):
    ce_type: ClassVar[str] = "points.debited"
    awaited: ClassVar[bool] = True  # a partner's POST waits for it (rewards' saga)

    debit_id: Identifier
    points: Points
    balance_after: Annotated[int, Field(ge=0)]
    debited_at: Timestamp


class PointsDebitRejected(_PointsEvent):
    ce_type: ClassVar[str] = "points.debit-rejected"
    awaited: ClassVar[bool] = True  # a partner's POST waits for it (rewards' saga)

    debit_id: Identifier
    points_requested: Points
    reason: Literal["insufficient_points", "member_closed", "unknown_member"]
    available: int = Field(description="Balance at the time; negative after reversals.")
    rejected_at: Timestamp


class PointsRefunded(_PointsEvent):
    """Points of a cancelled debit given back."""

    ce_type: ClassVar[str] = "points.refunded"

    debit_id: Identifier
    points: Points
    refunded_at: Timestamp


class PointsExpired(_PointsEvent):
    ce_type: ClassVar[str] = "points.expired"

    points: Points
    expired_on: date
    expired_at: Timestamp


class PointsExpiringSoon(_PointsEvent):
    ce_type: ClassVar[str] = "points.expiring-soon"

    points: Points
    expires_on: date
    announced_at: Timestamp


class PointsForfeited(_PointsEvent):
    ce_type: ClassVar[str] = "points.forfeited"

    points: Points
    reason: Literal["member_closed"]
    forfeited_at: Timestamp


class PointsForfeitureReturned(_PointsEvent):
    """Points forfeited at a member's closure given back: a fact dated before the closure
    that arrived after it took back points the forfeiture had counted (a refund's reversal, a
    re-rating down), so the closed ledger ends where in-order delivery leaves it."""

    ce_type: ClassVar[str] = "points.forfeiture-returned"

    points: Points
    reason: Literal["member_closed"] = Field(description="The forfeiture's reason.")
    reference: Identifier = Field(
        description="The late fact: a refund id, or a re-rating's `<transaction id>/rerated-<n>`.")
    returned_at: Timestamp = Field(description="As of the closure, as the forfeiture.")


class PointsGoodwillAwarded(_PointsEvent):
    """Points given by staff to make up for a complaint: a transfer from the programme's
    goodwill account. An award above the configured size was approved by a second staff
    member first (who, and when, stay in the points service's audit)."""

    ce_type: ClassVar[str] = "points.goodwill-awarded"

    award_id: Identifier
    complaint_reference: Identifier = Field(description="The complaint the award settles.")
    reason: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")] = Field(
        description="One of the programme's configured reason codes, e.g. service_failure.")
    points: Points
    balance_after: int = Field(description="The member's balance after the award.")
    expires_on: date
    awarded_at: Timestamp = Field(description="When it was applied (approved, if it waited).")


class IndustrySpend(EventPart):
    """What a member spent in one of the catalogue's industries (contracts/industries.py):
    a count and a total, never the purchases themselves."""

    industry: Industry
    purchases: Annotated[int, Field(gt=0)]
    spend_cny: CnyAmount


class PointsSpendingProfiled(_PointsEvent):
    """A member's spending by industry over the days before the month began, published
    once per member active in them and month (the monthly job), for offers that fit. Only
    counts and totals by industry and the city most of the purchases were made in."""

    ce_type: ClassVar[str] = "points.spending-profiled"

    month: Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")] = Field(
        description="The month profiled for (Asia/Shanghai), e.g. 2027-03.")
    days: Annotated[int, Field(ge=1, le=366)] = Field(
        description="The days counted: those before the month's first day.")
    industries: list[IndustrySpend] = Field(
        description="Industries with purchases, most purchases first; may be empty.")
    city: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="Where the member made most of their purchases, if known.")
    profiled_at: Timestamp
