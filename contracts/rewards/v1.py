"""Redemption events, major version 1, on `loyalty.rewards.v1`. Keyed by `member_id`;
the catalogue's `catalogue.entry-changed` is keyed by `partner_id` (the partner whose offer
or lounge it is), so one partner's changes arrive in order.

The points-paid saga: rewards publishes `redemption.requested` with `points > 0`; points
answers `points.debited` or `points.debit-rejected` with `debit_id` = `redemption_id`;
rewards then publishes `redemption.confirmed` or `redemption.rejected`. A cancelled
redemption whose points were debited carries `points_to_refund`, and points answers
`points.refunded` for the same `debit_id`. A debit that lands after its redemption stopped
waiting for it (timed out, or cancelled while pending) is given back through
`redemption.refund-requested`, answered the same way: one cancellation per redemption.

A donation (revision 2 of `redemption.requested` and `redemption.confirmed`) is a
redemption of its own kind: a member gives points to a charity partner from the app
(`kind` "donation", `partner_id` and `item_id` the charity); it goes through the same saga.

Member events ("salons"): `salon.changed` (staff scheduled, changed or cancelled one) is
keyed by `salon_id`; what a member hears (`salon.invited`, `salon.rsvp-changed`,
`salon.reminder-due`) and `salon.attended` (for analytics) are keyed by `member_id`, with
ids derived from (salon, member), so an invitation or a reminder is published once.
"""

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from .. import topics
from ..base import Event, EventPart
from ..fields import Identifier, MemberId, Timestamp
from ..industries import Industry

Kind = Literal["lounge", "offer"]
#: What a redemption is of: the catalogue's kinds, and points given to a charity.
RedemptionKind = Literal["lounge", "offer", "donation"]
Title = Annotated[str, StringConstraints(min_length=1, max_length=64)]
#: Short enough for an SMS variable and a WeChat field, whole: Crockford base32, 5-5.
Reference = Annotated[str, StringConstraints(
    pattern=r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")]


class _RedemptionEvent(Event):
    topic: ClassVar[str] = topics.REWARDS_V1
    member_id: MemberId
    redemption_id: Identifier


class RedemptionRequested(_RedemptionEvent):
    """A partner asked to redeem. `points > 0` asks the points service for a debit."""

    ce_type: ClassVar[str] = "redemption.requested"
    awaited: ClassVar[bool] = True  # the partner's POST waits for the points' answer

    partner_id: Identifier
    kind: RedemptionKind
    item_id: Identifier = Field(description="The lounge or offer redeemed; the charity"
                                " given to.")
    persons: Annotated[int, Field(ge=1, le=10)] = Field(description="Member plus guests.")
    points: Annotated[int, Field(ge=0)] = Field(description="Points to debit; 0 if none.")
    requested_at: Timestamp


class RedemptionConfirmed(_RedemptionEvent):
    ce_type: ClassVar[str] = "redemption.confirmed"

    partner_id: Identifier
    kind: RedemptionKind
    item_id: Identifier
    title: Title = Field(description="What the member shows at the counter, e.g. the lounge;"
                         " a donation's charity, in Chinese.")
    title_en: Title | None = Field(default=None, description="The title in English, where it"
                                   " has one of its own (a donation's charity).")
    persons: Annotated[int, Field(ge=1, le=10)]
    points: Annotated[int, Field(ge=0)]
    valid_on: date | None = Field(default=None, description="Day the benefit may be used.")
    confirmed_at: Timestamp
    reference: Reference | None = Field(
        default=None, description="What the member shows at the counter (XXXXX-XXXXX);"
        " absent from events published before revision 2.")


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
    reference: Reference | None = Field(
        default=None, description="The reference the member was given when it was"
        " confirmed; absent from events published before revision 2.")


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


class CatalogueEntryChanged(Event):
    """Staff created, changed (validity window included) or withdrew an offer or a lounge
    of the catalogue. `version` is the catalogue's version after the change: larger is
    later; a partner reads its entries' changes after a version it saw
    (`GET /v1/catalogue/changes`)."""

    ce_type: ClassVar[str] = "catalogue.entry-changed"
    topic: ClassVar[str] = topics.REWARDS_V1
    subject_field: ClassVar[str] = "partner_id"

    partner_id: Identifier = Field(description="The merchant's partner, or the lounge's"
                                   " operator.")
    kind: Kind
    entry_id: Identifier
    change: Literal["created", "changed", "withdrawn"]
    version: Annotated[int, Field(ge=1)]
    title: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    status: Literal["active", "withdrawn"]
    valid_from: date | None = Field(default=None, description="First day it may be"
                                    " redeemed (Asia/Shanghai); none: no bound.")
    valid_until: date | None = Field(default=None, description="Last day, inclusive.")
    changed_at: Timestamp


class RecommendedOffer(EventPart):
    """One offer of a recommendation, as the member's message names it."""

    offer_id: Identifier
    merchant: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    industry: Industry
    title: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="The catalogue's title, in Chinese.")
    title_en: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="In English: the offer's own English title, else its industry's name.")


class OffersRecommended(Event):
    """At most three offers the member can use this month (their tier, their city or
    everywhere, open, not used up), the ones of the industries they spend most in first:
    one per member and month, for one message. From `points.spending-profiled`."""

    ce_type: ClassVar[str] = "offers.recommended"
    topic: ClassVar[str] = topics.REWARDS_V1

    member_id: MemberId
    month: Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")] = Field(
        description="The month recommended for (Asia/Shanghai), e.g. 2027-03.")
    offers: Annotated[list[RecommendedOffer], Field(min_length=1, max_length=3)] = Field(
        description="Best first.")
    recommended_at: Timestamp


# ---------------------------------------------------------------------- member events (salons)

SalonCategory = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{1,31}$")]
SalonTitle = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Place = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class SalonChanged(Event):
    """Staff scheduled, changed or cancelled a member event (a salon: health, cars,
    collecting, wealth, ...). Keyed by `salon_id`; `version` counts the salon's changes
    (1 when scheduled): larger is later."""

    ce_type: ClassVar[str] = "salon.changed"
    topic: ClassVar[str] = topics.REWARDS_V1
    subject_field: ClassVar[str] = "salon_id"

    salon_id: Identifier
    change: Literal["scheduled", "changed", "cancelled"]
    version: Annotated[int, Field(ge=1)]
    status: Literal["scheduled", "cancelled"]
    title: SalonTitle
    category: SalonCategory
    city: Place
    venue: Place
    starts_at: Timestamp
    capacity: Annotated[int, Field(ge=1)]
    eligible_tiers: list[str] = Field(description="The tiers invited.")
    invite_from: Timestamp
    rsvp_until: Timestamp
    changed_at: Timestamp


class _SalonGuestEvent(Event):
    topic: ClassVar[str] = topics.REWARDS_V1
    member_id: MemberId
    salon_id: Identifier
    title: SalonTitle
    title_en: SalonTitle | None = Field(default=None, description="The title in English,"
                                        " where staff gave one.")
    city: Place
    venue: Place
    starts_at: Timestamp


class SalonInvited(_SalonGuestEvent):
    """An eligible member is invited, once per salon (a marketing message: notifications
    sends it only with the member's marketing consent)."""

    ce_type: ClassVar[str] = "salon.invited"

    category: SalonCategory
    rsvp_until: Timestamp
    invited_at: Timestamp


class SalonRsvpChanged(_SalonGuestEvent):
    """A guest's answer or place changed: `accepted` (with a seat; `promoted` when it came
    from the waitlist), `waitlisted` (full), `declined`, or `cancelled` (the salon was
    cancelled: every guest who had accepted or was waiting hears it)."""

    ce_type: ClassVar[str] = "salon.rsvp-changed"

    status: Literal["accepted", "waitlisted", "declined", "cancelled"]
    promoted: bool = False
    changed_at: Timestamp


class SalonReminderDue(_SalonGuestEvent):
    """The day before a salon: a reminder to each guest who accepted."""

    ce_type: ClassVar[str] = "salon.reminder-due"

    due_at: Timestamp


class SalonAttended(Event):
    """The host checked a guest in with their single-use code (for analytics)."""

    ce_type: ClassVar[str] = "salon.attended"
    topic: ClassVar[str] = topics.REWARDS_V1

    member_id: MemberId
    salon_id: Identifier
    category: SalonCategory
    city: Place
    checked_in_at: Timestamp
