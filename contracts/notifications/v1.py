"""Notification events, major version 1, on `loyalty.notifications.v1`. Keyed by `member_id`.

One message is one (causing event, template) pair, identified by `message_id`. It is sent
once (`notification.sent`), then possibly confirmed by the provider's delivery receipt
(`notification.delivered`) or given up (`notification.failed`, before or after sending).
These events never carry a phone number or a WeChat openid: at most a masked number.

A member who asks to hear no more marketing (a stop keyword replied to an SMS, or unfollowing
the WeChat Official Account) is announced once per reply (`notification.opt-out-received`);
accounts withdraws the marketing consent.
"""

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from .. import topics
from ..base import Event
from ..fields import Identifier, MemberId, Timestamp

Channel = Literal["wechat", "sms"]
Provider = Literal["wechat", "aliyun", "tencent"]
TemplateName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
#: "138****1234": enough for support to recognise a number, not enough to use it.
MaskedMobile = Annotated[str, StringConstraints(pattern=r"^1[3-9][0-9]\*{4}[0-9]{4}$")]


class _NotificationEvent(Event):
    topic: ClassVar[str] = topics.NOTIFICATIONS_V1
    member_id: MemberId
    message_id: Identifier = Field(description="The message: one per causing event and template.")


class NotificationSent(_NotificationEvent):
    """A provider accepted the message."""

    ce_type: ClassVar[str] = "notification.sent"

    template: TemplateName
    cause_event_id: Identifier = Field(description="ce_id of the event the member hears about.")
    channel: Channel
    provider: Provider
    recipient_masked: MaskedMobile | None = Field(
        default=None, description="The SMS number, masked; absent for WeChat.")
    attempts: Annotated[int, Field(ge=1)] = Field(description="Provider calls it took.")
    sent_at: Timestamp


class NotificationDelivered(_NotificationEvent):
    """The provider's delivery receipt says the message reached the member."""

    ce_type: ClassVar[str] = "notification.delivered"

    channel: Channel
    provider: Provider
    delivered_at: Timestamp


class NotificationFailed(_NotificationEvent):
    """The message will not reach the member."""

    ce_type: ClassVar[str] = "notification.failed"

    template: TemplateName
    channel: Channel | None = Field(default=None, description="Absent if never sent.")
    reason: Literal[
        "invalid_number",      # the provider says the number cannot receive SMS
        "user_blocked",        # the member blocked or refused the channel
        "retries_exhausted",   # transient errors until the retry budget ran out
        "rejected",            # any other permanent refusal by the provider
        "no_contact",          # no contact data for the member
        "delivery_failed",     # accepted, then the delivery receipt reported failure
    ]
    error_code: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="The provider's code, e.g. isv.MOBILE_NUMBER_ILLEGAL.")
    failed_at: Timestamp


class NotificationOptOutReceived(Event):
    """The member asked for no more marketing: replied a stop keyword to an SMS, or
    unfollowed the WeChat Official Account. Notifications already sends them no marketing;
    accounts withdraws the marketing consent. One per reply."""

    topic: ClassVar[str] = topics.NOTIFICATIONS_V1
    ce_type: ClassVar[str] = "notification.opt-out-received"

    member_id: MemberId
    channel: Channel
    provider: Provider
    via: Literal["sms_reply", "wechat_unsubscribe"]
    keyword: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, description="The stop keyword replied, as matched (SMS only).")
    received_at: Timestamp = Field(description="When the provider received the reply.")
