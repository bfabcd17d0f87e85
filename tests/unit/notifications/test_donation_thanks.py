"""A confirmed donation asks for a thank-you (not the counter message of a redemption), by
name, with the charity in the member's language and no mix of scripts."""

from datetime import UTC, datetime

from contracts.rewards.v1 import RedemptionConfirmed
from services.notifications.domain.messages import intent_for, values_for
from services.notifications.domain.templates import Recipient, render
from services.notifications.settings import load_templates

TEMPLATE = load_templates()["donation_thanks"]


def confirmed(kind: str = "donation", title_en: str | None = "Project Hope"):
    return RedemptionConfirmed(
        member_id="C0000000001", redemption_id="rdm_1", partner_id="chr_project_hope",
        kind=kind, item_id="chr_project_hope", title="希望工程", title_en=title_en, persons=1,
        points=5000, confirmed_at=datetime(2026, 11, 30, 12, tzinfo=UTC))


def test_a_donation_asks_for_a_thank_you_once_per_event():
    intent = intent_for(confirmed(), "evt-1")
    assert (intent.template, intent.cause_id, intent.facts) == ("donation_thanks", "evt-1", {
        "charity": "希望工程", "charity_en": "Project Hope", "points": 5000})
    assert TEMPLATE.category == "transactional"  # the member's own act: no consent needed


def test_it_thanks_the_member_by_name_in_their_language():
    facts = intent_for(confirmed(), "evt-1").facts
    zh = render(TEMPLATE, Recipient("王", "female", "zh-CN"), values_for(facts, "zh-CN"), "XX银行")
    en = render(TEMPLATE, Recipient("Wang", "male", "en-US"), values_for(facts, "en-US"),
                "XX Bank")
    assert zh.sms_text.startswith("【XX银行】王女士，衷心感谢您捐赠5000积分支持希望工程。")
    assert "Mr Wang, thank you most sincerely for donating 5000 points to Project Hope." \
        in en.sms_text
    assert "希望" not in en.sms_text and "Project" not in zh.sms_text
    assert en.wechat_fields["thing2"] == "Project Hope"


def test_without_an_english_name_the_charity_is_named_as_it_is():
    facts = intent_for(confirmed(title_en=None), "evt-1").facts
    assert values_for(facts, "en-US")["charity"] == "希望工程"


def test_other_redemptions_still_get_their_counter_message():
    assert intent_for(confirmed(kind="offer", title_en=None), "evt-2").template == \
        "redemption_confirmed"
