"""What one customer event does to a member: enrol, update (announcing only differences),
close, or ignore."""

from dataclasses import replace
from datetime import UTC, date, datetime

from services.accounts.domain.members import Member, Profile, on_close, on_profile

AT = datetime(2026, 1, 5, tzinfo=UTC)
LATER = datetime(2026, 2, 5, tzinfo=UTC)
PROFILE = Profile(family_name="张", given_name="伟", gender="male", birth_date=date(1990, 1, 1),
                  preferred_language="zh-CN", mobile_hash=b"m1", openid_hash=None,
                  service_messages=True, marketing=False)
MEMBER = Member("C0000000001", "active", PROFILE, AT)


def test_an_unknown_customer_is_enrolled_with_every_consent_recorded():
    step = on_profile(None, "C0000000001", PROFILE, AT)
    assert step.action == "enrol" and step.contact_changed
    assert step.consent_changes == (("service_messages", True), ("marketing", False))


def test_only_the_differences_are_announced():
    cases = [
        (replace(PROFILE, mobile_hash=b"m2"), False, True, ()),
        (replace(PROFILE, openid_hash=b"o1"), False, True, ()),
        (replace(PROFILE, preferred_language="en-US"), True, True, ()),
        (replace(PROFILE, marketing=True), False, True, (("marketing", True),)),
        (PROFILE, False, False, ()),
    ]
    for profile, language, contact, consents in cases:
        step = on_profile(MEMBER, MEMBER.member_id, profile, LATER)
        assert step.action == "update"
        assert (step.language_changed, step.contact_changed, step.consent_changes) == (
            language, contact, consents)


def test_an_older_profile_is_ignored():
    step = on_profile(MEMBER, MEMBER.member_id, replace(PROFILE, mobile_hash=b"m0"),
                      datetime(2025, 12, 1, tzinfo=UTC))
    assert step.action == "ignore"


def test_closing_is_final():
    step = on_close(MEMBER, MEMBER.member_id, LATER)
    assert step.action == "close" and step.member.profile is None
    assert on_profile(step.member, MEMBER.member_id, PROFILE, LATER).action == "ignore"
    assert on_close(step.member, MEMBER.member_id, LATER).action == "ignore"


def test_closing_an_unknown_customer_leaves_a_closed_member():
    step = on_close(None, "C0000000009", AT)
    assert step.action == "close" and step.member.status == "closed"
