"""A member's reply withdrawing the marketing consent (notification.opt-out-received): the
consent goes once, and core-banking profiles still carrying it do not bring it back."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from services.accounts.domain.members import Member, Profile, on_marketing_withdrawn, on_profile

AT = datetime(2026, 1, 5, tzinfo=UTC)
REPLIED = datetime(2026, 1, 20, tzinfo=UTC)
LATER = datetime(2026, 2, 5, tzinfo=UTC)
PROFILE = Profile(family_name="张", given_name="伟", gender="male", birth_date=date(1990, 1, 1),
                  preferred_language="zh-CN", mobile_hash=b"m1", openid_hash=None,
                  service_messages=True, marketing=True)
MEMBER = Member("C0000000001", "active", PROFILE, AT)
WITHDRAWN = Member("C0000000001", "active", replace(PROFILE, marketing=False), AT, REPLIED)


@pytest.mark.parametrize(("member", "action", "contact", "consents", "withdrawn_at"), [
    (MEMBER, "update", True, (("marketing", False),), REPLIED),
    # core banking had it off already: only the reply is kept, nothing to announce
    (replace(MEMBER, profile=replace(PROFILE, marketing=False)), "update", False, (), REPLIED),
    (WITHDRAWN, "ignore", False, (), REPLIED),
    (Member("C0000000001", "closed", None, AT), "ignore", False, (), None),
    (None, "ignore", False, (), None),
])
def test_withdrawal(member, action, contact, consents, withdrawn_at) -> None:
    step = on_marketing_withdrawn(member, "C0000000001", REPLIED)
    assert (step.action, step.contact_changed, step.consent_changes) == (
        action, contact, consents)
    if step.member is not None:
        assert step.member.marketing_withdrawn_at == withdrawn_at
    if action == "update":
        assert not step.member.profile.marketing


def test_a_profile_still_carrying_the_consent_does_not_bring_it_back() -> None:
    step = on_profile(WITHDRAWN, WITHDRAWN.member_id, replace(PROFILE, mobile_hash=b"m2"),
                      LATER)
    assert step.action == "update" and step.contact_changed and step.consent_changes == ()
    assert not step.member.profile.marketing
    assert step.member.marketing_withdrawn_at == REPLIED
    # the rest of the profile still applies
    assert step.member.profile.mobile_hash == b"m2"
