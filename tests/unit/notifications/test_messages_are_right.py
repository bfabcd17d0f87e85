"""Messages that are right: the redemption reference goes whole, days are the member's
(Asia/Shanghai), a tier change says its own cause and the programme's rule as configured."""

from datetime import UTC, date, datetime

import pytest

from contracts.accounts.v1 import MemberTierChanged
from contracts.rewards.v1 import RedemptionConfirmed
from services.notifications.domain.messages import intent_for, values_for
from services.notifications.domain.templates import Recipient, render
from services.notifications.domain.tier_changes import TierRule
from services.notifications.settings import ACCOUNTS_TIERS_FILE, load_templates, load_tier_rule
from services.rewards.domain.references import new_redemption_id, reference

TEMPLATES = load_templates()
M = "C0000000001"
PEOPLE = [Recipient(family, gender, language) for language in ("zh-CN", "en-US")
          for family, gender in (("张", "male"), ("欧阳", "female"), ("李", "unknown"))]
RULE = TierRule(downgrade_after_months=3)


def confirmed(redemption_id: str, at: datetime, title: str = "北京首都国际机场T3航站楼国内"
              "出发贵宾休息室（近C区登机口）", valid_on: date | None = None) -> RedemptionConfirmed:
    return RedemptionConfirmed(
        member_id=M, redemption_id=redemption_id, partner_id="ptn_airport_vip", kind="lounge",
        item_id="PEK-T3-01", title=title, persons=3, points=9000, valid_on=valid_on,
        confirmed_at=at, reference=reference(redemption_id))


@pytest.mark.parametrize("redemption_id", [
    new_redemption_id(), new_redemption_id(),
    "rdm_" + "f" * 32,             # minted before short references: derived from the id
    "rdm_" + "0123456789abcdef" * 2,
])
@pytest.mark.parametrize("person", PEOPLE, ids=lambda p: f"{p.language}-{p.gender}")
def test_the_reference_goes_whole_in_sms_and_wechat(redemption_id, person) -> None:
    event = confirmed(redemption_id, datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    intent = intent_for(event, "ce-1")
    rendered = render(TEMPLATES[intent.template], person,
                      values_for(intent.facts, person.language), "XX银行")
    ref = event.reference
    assert ref is not None and len(ref) == 11
    assert rendered.sms_params["reference"] == ref
    assert rendered.wechat_fields["character_string3"] == ref
    assert ref in rendered.sms_text and ref + "…" not in rendered.sms_text
    assert not any(v.endswith("…") for k, v in rendered.sms_params.items() if k != "title")
    assert rendered.wechat_fields["thing1"].endswith("…") == (person.language == "zh-CN")


@pytest.mark.parametrize(("confirmed_at", "valid_on"), [
    (datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC), "2026-03-01"),  # 23:59:59 in Shanghai
    (datetime(2026, 3, 1, 16, 0, tzinfo=UTC), "2026-03-02"),       # 00:00 in Shanghai
    (datetime(2026, 12, 31, 16, 30, tzinfo=UTC), "2027-01-01"),    # UTC's day is 31 Dec
])
def test_the_valid_day_is_the_members_local_day(confirmed_at, valid_on) -> None:
    intent = intent_for(confirmed(new_redemption_id(), confirmed_at), "ce-1")
    assert intent.facts["valid_on"] == valid_on
    rendered = render(TEMPLATES["redemption_confirmed"], PEOPLE[0],
                      values_for(intent.facts, "zh-CN"), "XX银行")
    assert f"使用日期{valid_on}" in rendered.sms_text


def tier(old: str, new: str, reason: str, effective: date = date(2026, 4, 1)):
    return MemberTierChanged(member_id=M, old_tier=old, new_tier=new, reason=reason,
                             effective_date=effective, changed_at=datetime(2026, 3, 31, 16,
                                                                           tzinfo=UTC))


YEARLY = TierRule(downgrade_after_months=3, cadence="yearly", first_review=date(2027, 1, 1))


@pytest.mark.parametrize(("event", "rule", "template", "zh", "en"), [
    (tier("gold", "standard", "assets_below"), RULE, "tier_downgraded",
     "根据近3个月资产情况", "over the last 3 months"),
    (tier("gold", "standard", "assets_below"), TierRule(downgrade_after_months=1),
     "tier_downgraded", "根据近1个月资产情况", "over the last month"),
    (tier("gold", "standard", "assets_below", date(2027, 1, 1)), YEARLY, "tier_downgraded",
     "根据近12个月资产情况", "over the last 12 months"),
    (tier("gold", "standard", "assets_below", date(2026, 12, 1)), YEARLY, "tier_downgraded",
     "根据近3个月资产情况", "over the last 3 months"),   # still monthly before the first review
    (tier("standard", "gold", "assets_qualified"), RULE, "tier_upgraded",
     "恭喜您", "congratulations"),
    (tier("standard", "private_banking", "manual_override"), RULE, "tier_set_by_staff",
     "您的客户经理已将您的会员等级调整为私人银行", "your relationship manager has set your tier"),
    (tier("gold", "standard", "manual_override"), RULE, "tier_set_by_staff",
     "您的客户经理已将您的会员等级调整为普通", "has set your tier to Standard"),
    (tier("private_banking", "gold", "override_ended"), RULE, "tier_override_ended",
     "特别安排已到期", "the tier your relationship manager arranged has ended"),
])
def test_each_cause_of_a_tier_change_has_its_own_wording(event, rule, template, zh, en) -> None:
    intent = intent_for(event, "ce-1", tier_rule=rule)
    assert intent.template == template
    zh_text = render(TEMPLATES[template], PEOPLE[0], values_for(intent.facts, "zh-CN"),
                     "XX银行").sms_text
    en_text = render(TEMPLATES[template], PEOPLE[3], values_for(intent.facts, "en-US"),
                     "XX银行").sms_text
    assert zh in zh_text and en in en_text
    assert ("三个月" in zh_text, "three months" in en_text) == (False, False)


def test_the_rule_is_read_from_the_tier_programme_file(tmp_path) -> None:
    assert load_tier_rule(ACCOUNTS_TIERS_FILE).downgrade_after_months >= 1
    path = tmp_path / "tiers.toml"
    path.write_text('downgrade_after_months = 2\n[review]\ncadence = "yearly"\n'
                    "first_review = 2027-01-01\n")
    assert load_tier_rule(path) == TierRule(2, "yearly", date(2027, 1, 1))
    path.write_text("[review]\n")
    with pytest.raises(ValueError, match="no tier downgrade rule"):
        load_tier_rule(path)


def test_a_tier_change_without_the_programme_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="tier rule"):
        intent_for(tier("gold", "standard", "assets_below"), "ce-1")
