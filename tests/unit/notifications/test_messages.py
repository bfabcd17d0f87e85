"""Which events become which messages, and how facts read in each language."""

from datetime import UTC, date, datetime

import pytest

from contracts.accounts.v1 import MemberTierChanged
from contracts.points.v1 import PointsExpiringSoon, PointsGoodwillAwarded
from contracts.rewards.v1 import RedemptionCancelled, RedemptionConfirmed
from services.notifications.domain.messages import (
    consent_missing,
    intent_for,
    place,
    summary_intent,
    values_for,
)
from services.notifications.domain.schedule import SHANGHAI, Rules
from services.notifications.domain.tier_changes import TierRule
from services.notifications.settings import load_templates

NOW = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
M = "C0000000001"
RULE = TierRule(downgrade_after_months=3)


def tier(old: str, new: str) -> MemberTierChanged:
    return MemberTierChanged(member_id=M, old_tier=old, new_tier=new, reason="assets_qualified",
                             effective_date=date(2026, 3, 1), changed_at=NOW)


@pytest.mark.parametrize(("old", "new", "template"), [
    ("standard", "gold", "tier_upgraded"), ("gold", "private_banking", "tier_upgraded"),
    ("oto_fortune", "gold", "tier_downgraded"), ("gold", "standard", "tier_downgraded"),
])
def test_tier_changes(old, new, template) -> None:
    intent = intent_for(tier(old, new), "ce-1", tier_rule=RULE)
    assert (intent.template, intent.cause_id, intent.facts["tier"]) == (template, "ce-1", new)


def test_no_message_for_a_tier_that_did_not_change() -> None:
    assert intent_for(tier("gold", "gold"), "ce-1", tier_rule=RULE) is None


def test_redemptions_and_expiring_points() -> None:
    confirmed = RedemptionConfirmed(
        member_id=M, redemption_id="RD-1", partner_id="P1", kind="lounge", item_id="L1",
        title="PEK T3 Lounge", persons=2, points=0, confirmed_at=NOW)
    assert intent_for(confirmed, "c").facts == {
        "title": "PEK T3 Lounge", "kind": "lounge", "persons": 2, "points": 0,
        "reference": "RD-1", "valid_on": "2026-03-01"}
    cancelled = RedemptionCancelled(member_id=M, redemption_id="RD-1", title="T",
                                    points_to_refund=3000, cancelled_at=NOW)
    assert intent_for(cancelled, "c").template == "redemption_cancelled"
    expiring = PointsExpiringSoon(member_id=M, points=500, expires_on=date(2026, 12, 31),
                                  announced_at=NOW)
    assert intent_for(expiring, "c").facts == {"points": 500, "expires_on": "2026-12-31"}


def test_one_summary_per_member_and_day() -> None:
    a = summary_intent(M, date(2026, 3, 1), 100, 2)
    assert a.cause_id == summary_intent(M, date(2026, 3, 1), 999, 9).cause_id
    assert a.cause_id != summary_intent(M, date(2026, 3, 2), 100, 2).cause_id


def test_values_read_in_the_members_language() -> None:
    facts = {"tier": "oto_fortune", "persons": 1}
    assert values_for(facts, "zh-CN") == {"tier": "沃德财富", "persons": "1"}
    # Counts stay digits in English too: WeChat's number fields take nothing else.
    assert values_for(facts, "en-US") == {"tier": "OTO Fortune", "persons": "1"}


@pytest.mark.parametrize(("category", "service", "marketing", "missing"), [
    ("transactional", False, False, False),
    ("service", True, False, False), ("service", False, True, True),
    ("marketing", True, True, False), ("marketing", True, False, True),
])
def test_consent(category, service, marketing, missing) -> None:
    contact = {"service_consent": service, "marketing_consent": marketing}
    assert consent_missing(category, contact) is missing


def test_unknown_contact_blocks_marketing_only() -> None:
    assert [consent_missing(c, None) for c in ("transactional", "service", "marketing")] == [
        False, False, True]


def test_place_skips_closed_and_unconsenting_members_and_caps_marketing() -> None:
    rules = Rules(daily_cap=1)
    contact = {"service_consent": True, "marketing_consent": True}
    assert place("service", contact, True, {}, NOW, rules).reason == "member_closed"
    assert place("marketing", None, False, {}, NOW, rules).reason == "no_consent"
    counted: dict = {}
    first = place("marketing", contact, False, counted, NOW, rules)
    assert (first.state, first.day) == ("queued", NOW.astimezone(SHANGHAI).date())
    second = place("marketing", contact, False, counted, NOW, rules)
    assert (second.state, second.reason) == ("capped", "daily_cap")


def test_a_goodwill_award_is_an_apology_held_through_quiet_hours() -> None:
    award = PointsGoodwillAwarded(
        member_id=M, award_id="17", complaint_reference="CMP-1", reason="service_failure",
        points=800, balance_after=1200, expires_on=date(2027, 12, 31), awarded_at=NOW)
    intent = intent_for(award, "ce-9")
    assert (intent.template, intent.cause_id, intent.facts) == (
        "goodwill_apology", "ce-9", {"points": 800})
    category = load_templates()["goodwill_apology"].category
    assert category == "service"  # consent, quiet hours and the daily cap apply
    night = datetime(2026, 3, 1, 22, 30, tzinfo=SHANGHAI)
    held = place(category, {"service_consent": True}, False, {}, night, Rules())
    assert (held.state, held.not_before) == ("queued", datetime(2026, 3, 2, 8, 0,
                                                                tzinfo=SHANGHAI))
    assert place(category, {"service_consent": False}, False, {}, NOW,
                 Rules()).reason == "no_consent"
