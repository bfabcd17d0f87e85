"""Redemption events, major version 1, on `loyalty.rewards.v1`. Keyed by `member_id`.

The points-paid saga: rewards publishes `redemption.requested` with `points > 0`; points
answers `points.debited` or `points.debit-rejected` with `debit_id` = `redemption_id`;
rewards then publishes `redemption.confirmed` or `redemption.rejected`. A cancelled
redemption whose points were debited carries `points_to_refund`, and points answers
`points.refunded` for the same `debit_id`. A debit that lands after its redemption stopped
waiting for it (timed out, or cancelled while pending) is given back through
`redemption.refund-requested`, answered the same way: one cancellation per redemption.
"""

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from .. import topics
from ..base import Event
from ..fields import Identifier, MemberId, Timestamp

Kind = Literal["lounge", "offer"]
Title = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _RedemptionEvent(Event):
    topic: ClassVar[str] = topics.REWARDS_V1
    member_id: MemberId
    redemption_id: Identifier


class RedemptionRequested(_RedemptionEvent):
    """A partner asked to redeem. `points > 0` asks the points service for a debit."""

    ce_type: ClassVar[str] = "redemption.requested"

    partner_id: Identifier
    kind: Kind
    item_id: Identifier = Field(description="The lounge or offer redeemed.")
    persons: Annotated[int, Field(ge=1, le=10)] = Field(description="Member plus guests.")
    points: Annotated[int, Field(ge=0)] = Field(description="Points to debit; 0 if none.")
    requested_at: Timestamp


class RedemptionConfirmed(_RedemptionEvent):
    ce_type: ClassVar[str] = "redemption.confirmed"

    partner_id: Identifier
    kind: Kind
    item_id: Identifier
    title: Title = Field(description="What the member shows at the counter, e.g. the lounge.")
    persons: Annotated[int, Field(ge=1, le=10)]
    points: Annotated[int, Field(ge=0)]
    valid_on: date | None = Field(default=None, description="Day the benefit may be used.")
    confirmed_at: Timestamp


class RedemptionRejected(_RedemptionEvent):
    ce_type: ClassVar[str] = "redemption.rejected"

    reason: Literal["insufficient_points", "member_closed", "unknown_member", "timed_out"]
    rejected_at: Timestamp


class RedemptionCancelled(_RedemptionEvent):
    """`points_to_refund > 0` asks the points service to give back the debited points."""

    ce_type: ClassVar[str] = "redemption.cancelled"

    title: Title
    points_to_refund: Annotated[int, Field(ge=0)]
    cancelled_at: Timestamp


class RedemptionRefundRequested(_RedemptionEvent):
    """Points debited for a redemption that no longer waited for them, to be given back:
    its story had already ended, `redemption.rejected` (`timed_out`) or
    `redemption.cancelled` while it was pending (with nothing to refund then). Not a
    cancellation of its own; the points service answers `points.refunded` for the same
    `debit_id`."""

    ce_type: ClassVar[str] = "redemption.refund-requested"

    points: Annotated[int, Field(gt=0)] = Field(description="The late debit's points.")
    reason: Literal["timed_out", "cancelled"] = Field(
        description="How the redemption had ended when the debit landed.")
    requested_at: Timestamp
