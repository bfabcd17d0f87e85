"""Member events, major version 1. Keyed by `member_id` (equal to the customer id).

Two topics, so that personal data reaches only the services that need it:
`loyalty.members.v1` carries ids, tiers and lifecycle (no phone number, no openid, no name);
`loyalty.member-contacts.v1` carries how to reach a member, and is read by notifications only.
"""

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from .. import topics
from ..base import Event, EventPart
from ..corebanking.v1 import ChinaMobile, WechatOpenid
from ..fields import MemberId, Timestamp
from ..tiers import Tier

Language = Literal["zh-CN", "en-US"]
Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]


class _MemberEvent(Event):
    topic: ClassVar[str] = topics.MEMBERS_V1
    member_id: MemberId


class MemberEnrolled(_MemberEvent):
    """A core-banking customer became a member, at the Standard tier until assets say more."""

    ce_type: ClassVar[str] = "member.enrolled"

    tier: Tier
    preferred_language: Language
    enrolled_at: Timestamp


class MemberUpdated(_MemberEvent):
    """Profile data other services may use changed; contact data goes on its own topic."""

    ce_type: ClassVar[str] = "member.updated"

    preferred_language: Language
    updated_at: Timestamp


class MemberClosed(_MemberEvent):
    """The customer left the bank: points are forfeited, entitlements end, contact data goes."""

    ce_type: ClassVar[str] = "member.closed"

    closed_at: Timestamp


class MemberTierChanged(_MemberEvent):
    ce_type: ClassVar[str] = "member.tier-changed"

    old_tier: Tier
    new_tier: Tier
    reason: Literal[
        "assets_qualified",     # assets reached a higher tier's threshold
        "assets_below",         # 3 consecutive months below the current tier
        "manual_override",      # a relationship manager set the tier
        "override_ended",       # an override ran out; back to what assets say
    ]
    effective_date: date = Field(description="From this day (Asia/Shanghai) the tier applies.")
    assets_month: Month | None = Field(
        default=None, description="The asset snapshot month that decided it, if any.")
    changed_at: Timestamp


class ContactConsents(EventPart):
    service_messages: bool
    marketing: bool


class MemberContactChanged(_MemberEvent):
    """The whole current contact record (event-carried state): the last one wins."""

    ce_type: ClassVar[str] = "member.contact-changed"
    topic: ClassVar[str] = topics.MEMBER_CONTACTS_V1

    family_name: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="For the salutation (张先生); the given name is not shared."
    )
    gender: Literal["male", "female", "unknown"]
    birth_date: date = Field(description="For the birthday greeting.")
    mobile: ChinaMobile
    wechat_openid: WechatOpenid | None = None
    preferred_language: Language
    consents: ContactConsents
    changed_at: Timestamp


class MemberContactErased(_MemberEvent):
    """The member closed: every copy of their contact data must be deleted."""

    ce_type: ClassVar[str] = "member.contact-erased"
    topic: ClassVar[str] = topics.MEMBER_CONTACTS_V1

    erased_at: Timestamp
