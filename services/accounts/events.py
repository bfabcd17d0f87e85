"""The events the accounts service publishes, built from what the rules decided.
Member events carry ids, tiers and lifecycle only; contact data goes on its own topic."""

from __future__ import annotations

import uuid
from datetime import datetime

from contracts.accounts.v1 import (
    ContactConsents,
    MemberClosed,
    MemberContactChanged,
    MemberContactErased,
    MemberEnrolled,
    MemberTierChanged,
    MemberUpdated,
)
from contracts.corebanking.v1 import CustomerOnboarded, CustomerUpdated

from .domain.programme import ENROLMENT_TIER
from .domain.tiers import TierChange

_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:loyalty:accounts:events")


def event_id(*parts: object) -> str:
    """Deterministic ids for events whose cause is not one consumed event (or that must be
    known before the outbox names them): the same business fact always gets the same id."""
    return str(uuid.uuid5(_IDS, ":".join(map(str, parts))))


def enrolled(customer: CustomerOnboarded | CustomerUpdated, at: datetime) -> MemberEnrolled:
    return MemberEnrolled(member_id=customer.customer_id, tier=ENROLMENT_TIER,
                          preferred_language=customer.preferred_language, enrolled_at=at)


def updated(customer: CustomerOnboarded | CustomerUpdated, at: datetime) -> MemberUpdated:
    return MemberUpdated(member_id=customer.customer_id,
                         preferred_language=customer.preferred_language, updated_at=at)


def contact_changed(customer: CustomerOnboarded | CustomerUpdated,
                    at: datetime) -> MemberContactChanged:
    return MemberContactChanged(
        member_id=customer.customer_id, family_name=customer.family_name,
        gender=customer.gender, birth_date=customer.birth_date, mobile=customer.mobile,
        wechat_openid=customer.wechat_openid, preferred_language=customer.preferred_language,
        consents=ContactConsents(service_messages=customer.consents.service_messages,
                                 marketing=customer.consents.marketing),
        changed_at=at)


def closed(member_id: str, at: datetime) -> list[MemberClosed | MemberContactErased]:
    return [MemberClosed(member_id=member_id, closed_at=at),
            MemberContactErased(member_id=member_id, erased_at=at)]


def tier_changed(member_id: str, change: TierChange, at: datetime) -> MemberTierChanged:
    return MemberTierChanged(
        member_id=member_id, old_tier=change.old_tier, new_tier=change.new_tier,
        reason=change.reason, effective_date=change.effective_date,
        assets_month=change.assets_month, changed_at=at)
