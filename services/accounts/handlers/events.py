"""What the domain's decisions announce, as contract events, and under which id. Member
events carry ids, tiers and lifecycle only; contact data goes on its own topic."""

from __future__ import annotations

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
from contracts.base import Event
from contracts.corebanking.v1 import CustomerClosed, CustomerOnboarded, CustomerUpdated
from contracts.tiers import ENROLMENT_TIER
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.members import Step
from ..domain.tiers import TierChange

Customer = CustomerOnboarded | CustomerUpdated | CustomerClosed


def member_events(step: Step, customer: Customer, at: datetime) -> list[Event]:
    """The events of what a customer event did to its member (`step.happened`); the
    contact data comes from the customer event (the domain sees only its hashes)."""
    member_id = customer.customer_id
    events: list[Event] = []
    for happened in step.happened:
        if happened == "closed":
            events += [MemberClosed(member_id=member_id, closed_at=at),
                       MemberContactErased(member_id=member_id, erased_at=at)]
            continue
        assert not isinstance(customer, CustomerClosed)
        if happened == "enrolled":
            events.append(MemberEnrolled(
                member_id=member_id, tier=ENROLMENT_TIER,
                preferred_language=customer.preferred_language, enrolled_at=at))
        elif happened == "updated":
            events.append(MemberUpdated(
                member_id=member_id, preferred_language=customer.preferred_language,
                updated_at=at))
        else:
            assert step.member is not None and step.member.profile is not None
            events.append(MemberContactChanged(
                member_id=member_id, family_name=customer.family_name,
                gender=customer.gender, birth_date=customer.birth_date,
                mobile=customer.mobile, wechat_openid=customer.wechat_openid,
                preferred_language=customer.preferred_language,
                # the member's, not core banking's: a withdrawal by reply stands
                consents=ContactConsents(service_messages=customer.consents.service_messages,
                                         marketing=step.member.profile.marketing),
                # never before the withdrawal's own record: readers keep the newest
                changed_at=max(at, step.member.marketing_withdrawn_at or at)))
    return events


def emit_tier_change(uow: UnitOfWork, member_id: str, change: TierChange, at: datetime,
                     cause: Inbound | None, revision: int) -> str:
    """Announce a tier change; returns the event's id (the audit row names it). The id is
    the business key's: the member, the effective day, the tier and how many announcements
    that day had before (`revision`: a day corrected back and forth gets a new id each
    time), so doing the same work again publishes nothing new."""
    return uow.emit(MemberTierChanged(
        member_id=member_id, old_tier=change.old_tier, new_tier=change.new_tier,
        reason=change.reason, effective_date=change.effective_date,
        assets_month=change.assets_month, changed_at=at), cause,
        key=("tier-changed", member_id, change.effective_date.isoformat(), change.new_tier,
             revision))
