"""Core-banking events, major version 1: customers, monthly assets, card transactions.

Every event is keyed by `customer_id`. Customer events carry the whole current profile
(event-carried state), so a consumer never needs earlier events to know a customer.
"""

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from .. import topics
from ..base import Event, EventPart
from ..fields import (
    CnyAmount,
    CurrencyCode,
    CustomerId,
    Identifier,
    Mcc,
    PositiveCnyAmount,
    PositiveForeignAmount,
    Timestamp,
)

PersonName = Annotated[str, StringConstraints(min_length=1, max_length=32)]
#: Mainland China mobile number in E.164: +86 then 11 digits starting 13-19.
ChinaMobile = Annotated[str, StringConstraints(pattern=r"^\+861[3-9][0-9]{9}$")]
#: WeChat Official Account openid: "o" followed by 27 URL-safe characters.
WechatOpenid = Annotated[str, StringConstraints(pattern=r"^o[A-Za-z0-9_-]{27}$")]
#: A payment channel: lower-case letters, digits and underscores, e.g. card, alipay.
PaymentChannel = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
#: Opaque card reference from the card vault. It must hold a non-digit, so a PAN (all
#: digits) can never pass as a token.
CardToken = Annotated[
    str,
    StringConstraints(min_length=8, max_length=64, pattern=r"^[0-9]*[A-Za-z_-][A-Za-z0-9_-]*$"),
]


class Consents(EventPart):
    service_messages: bool = Field(description="May receive service messages (SMS, WeChat).")
    marketing: bool = Field(description="May receive marketing messages.")


class _CustomerProfile(Event):
    """Fields every customer event carrying the profile has; not an event on its own."""

    topic: ClassVar[str] = topics.CUSTOMERS_V1
    subject_field: ClassVar[str] = "customer_id"

    customer_id: CustomerId
    family_name: PersonName = Field(description="Surname, e.g. 张.")
    given_name: PersonName = Field(description="Given name, e.g. 伟.")
    gender: Literal["male", "female", "unknown"]
    birth_date: Annotated[date, Field(ge=date(1900, 1, 1))]
    mobile: ChinaMobile
    wechat_openid: WechatOpenid | None = Field(
        default=None, description="Bound WeChat Official Account openid, if any."
    )
    preferred_language: Literal["zh-CN", "en-US"]
    consents: Consents


class CustomerOnboarded(_CustomerProfile):
    ce_type: ClassVar[str] = "corebanking.customer.onboarded"

    onboarded_at: Timestamp


class CustomerUpdated(_CustomerProfile):
    """The full current profile after any change."""

    ce_type: ClassVar[str] = "corebanking.customer.updated"

    updated_at: Timestamp


class CustomerClosed(Event):
    ce_type: ClassVar[str] = "corebanking.customer.closed"
    topic: ClassVar[str] = topics.CUSTOMERS_V1
    subject_field: ClassVar[str] = "customer_id"

    customer_id: CustomerId
    closed_at: Timestamp
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None


class AssetSnapshotTaken(Event):
    """A customer's average daily assets held with the bank over one calendar month."""

    ce_type: ClassVar[str] = "corebanking.asset-snapshot.taken"
    topic: ClassVar[str] = topics.ASSET_SNAPSHOTS_V1
    subject_field: ClassVar[str] = "customer_id"

    customer_id: CustomerId
    month: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")] = Field(
        description="Calendar month measured, YYYY-MM (Asia/Shanghai)."
    )
    average_daily_assets: CnyAmount
    currency: Literal["CNY"]
    taken_at: Timestamp


class Merchant(EventPart):
    merchant_id: Identifier
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    mcc: Mcc
    city: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="ISO 3166-1 alpha-2."
    )


class CardTransactionPosted(Event):
    """A card purchase posted to the customer's account, settled in CNY."""

    ce_type: ClassVar[str] = "corebanking.card-transaction.posted"
    topic: ClassVar[str] = topics.CARD_TRANSACTIONS_V1
    subject_field: ClassVar[str] = "customer_id"

    transaction_id: Identifier
    customer_id: CustomerId
    card_token: CardToken
    merchant: Merchant
    transaction_amount: PositiveForeignAmount = Field(
        description="Amount in the currency the merchant charged."
    )
    transaction_currency: CurrencyCode
    settlement_amount: PositiveCnyAmount = Field(description="Amount debited, in CNY.")
    settlement_currency: Literal["CNY"]
    posted_at: Timestamp
    # Revision 2: optional, so revision 1 records (and core banking before it) stay valid.
    channel: PaymentChannel | None = Field(
        default=None,
        description="How the card was used, when core banking knows: `card` (the card"
                    " itself, in store or online), or the payment institution it was bound"
                    " to, e.g. `alipay`, `wechat_pay` (third-party payment, over NetsUnion)."
                    " Earning rules may treat channels differently.")


class CardTransactionRefunded(Event):
    """A full or partial refund of an earlier purchase, in the settlement currency."""

    ce_type: ClassVar[str] = "corebanking.card-transaction.refunded"
    topic: ClassVar[str] = topics.CARD_TRANSACTIONS_V1
    subject_field: ClassVar[str] = "customer_id"

    refund_id: Identifier
    original_transaction_id: Identifier
    customer_id: CustomerId
    card_token: CardToken
    mcc: Mcc
    refund_amount: PositiveCnyAmount
    settlement_currency: Literal["CNY"]
    refunded_at: Timestamp
