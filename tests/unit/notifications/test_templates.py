"""Every shipped template renders for every language and salutation within the channels'
limits: WeChat field values at most 20 characters, the bank's signature first in an SMS,
the opt-out line on marketing SMS only."""

from datetime import date

import pytest

from services.notifications.domain.messages import values_for
from services.notifications.domain.templates import (
    WECHAT_FIELD_MAX,
    Recipient,
    TemplateError,
    parse_template,
    render,
    salutation,
)
from services.notifications.settings import load_templates

TEMPLATES = load_templates()
SIGN = "XX银行"
#: Facts as the events give them, the longest they can be.
FACTS = {
    "tier_upgraded": {"tier": "private_banking", "effective_date": "2026-03-01"},
    "tier_downgraded": {"tier": "oto_fortune", "effective_date": "2026-03-01", "months": 12},
    "tier_set_by_staff": {"tier": "private_banking", "effective_date": "2026-03-01"},
    "tier_override_ended": {"tier": "private_banking", "effective_date": "2026-03-01"},
    # The reference as contracts/rewards/v1.py `Reference` has it (XXXXX-XXXXX).
    "redemption_confirmed": {"title": "首都国际机场T3航站楼国内出发贵宾休息室（近C区登机口）" * 2,
                             "kind": "lounge", "persons": 3, "points": 9000,
                             "reference": "WXYZ9-WXYZ9", "valid_on": "2026-05-20"},
    "redemption_cancelled": {"title": "Alliance offer: two course dinner for two" * 2,
                             "points": 3000},
    "points_expiring": {"points": 123456, "expires_on": "2026-12-31"},
    "points_summary": {"day": "2026-03-10", "points": 1135, "purchases": 12},
    "birthday": {},
    "goodwill_apology": {"points": 20000},
    "donation_thanks": {"charity": "中国儿童少年基金会春蕾计划女童助学专项基金（" * 2,
                        "charity_en": "Spring Buds Programme for girls' education" * 2,
                        "points": 10_000_000},
    "spring_festival": {},
    "mid_autumn": {},
    "double_ninth": {},
    "membership_anniversary": {"years": 88},
    # Offers that fit: three offers with long titles and merchants (never cut: shortened).
    "offers_recommended": {"month": "2027-03", "offers": [
        {"offer_id": f"off_{n}", "title": "洲际酒店集团 行政酒廊下午茶与延迟退房至16点" * 2,
         "title_en": "Hotels: reward for 45,000 points", "merchant": "洲际酒店集团" * n,
         "industry_en": "Financial services"} for n in (1, 2, 3)]},
    # A member event (salons.py): the longest title and places staff may give.
    **{name: {"salon": "sal_x", "title": "健康养生讲座：冬季心脑血管保健与中医调理" * 3,
              "title_en": None, "city": "上海", "venue": "陆家嘴环路1000号恒生银行大厦88楼" * 2,
              "starts": "2026-12-05 14:00"}
       for name in ("salon_invitation", "salon_reminder", "salon_promoted", "salon_cancelled")},
}
PEOPLE = [Recipient(family, gender, lang) for lang in ("zh-CN", "en-US")
          for family, gender in (("张", "male"), ("欧阳", "female"), ("李", "unknown"))]


def test_every_template_is_shipped_with_facts_here() -> None:
    assert set(TEMPLATES) == set(FACTS)


@pytest.mark.parametrize("name", sorted(FACTS))
@pytest.mark.parametrize("person", PEOPLE, ids=lambda p: f"{p.language}-{p.gender}")
def test_renders_within_channel_limits(name: str, person: Recipient) -> None:
    template = TEMPLATES[name]
    rendered = render(template, person, values_for(FACTS[name], person.language), SIGN)
    assert rendered.sms_text.startswith("【XX银行】")
    assert "${" not in rendered.sms_text
    assert all(0 < len(v) <= WECHAT_FIELD_MAX for v in rendered.wechat_fields.values())
    assert all(len(v) <= 35 for v in rendered.sms_params.values())
    opt_out = ("回复TD或R退订", "Reply STOP or R to opt out")
    assert rendered.sms_text.endswith(opt_out) == (template.category == "marketing")
    assert list(rendered.sms_params) == list(template.sms_params)


@pytest.mark.parametrize(("family", "gender", "lang", "expected"), [
    ("张", "male", "zh-CN", "张先生"),
    ("李", "female", "zh-CN", "李女士"),
    ("王", "unknown", "zh-CN", "尊敬的客户"),
    ("Zhang", "male", "en-US", "Dear Mr Zhang"),
    ("Li", "female", "en-US", "Dear Ms Li"),
    ("Wang", "unknown", "en-US", "Dear customer"),
])
def test_salutation_never_guesses(family, gender, lang, expected) -> None:
    assert salutation(family, gender, lang) == expected


def test_tier_upgrade_reads_naturally_in_both_languages() -> None:
    template = TEMPLATES["tier_upgraded"]
    facts = {"tier": "gold", "effective_date": date(2026, 3, 1).isoformat()}
    zh = render(template, Recipient("张", "male", "zh-CN"), values_for(facts, "zh-CN"), SIGN)
    en = render(template, Recipient("Zhang", "female", "en-US"), values_for(facts, "en-US"), SIGN)
    assert zh.sms_text == ("【XX银行】张先生，恭喜您自2026-03-01起升级为金卡会员，"
                           "更多专属权益请见手机银行。")
    assert en.sms_text.startswith("【XX银行】Dear Ms Zhang, congratulations: from 2026-03-01 "
                                  "your tier is Gold.")
    assert zh.wechat_fields["thing2"] == "升级为金卡"


def test_a_long_title_is_clipped_not_refused() -> None:
    template = TEMPLATES["redemption_confirmed"]
    rendered = render(template, Recipient("张", "male", "zh-CN"),
                      values_for(FACTS["redemption_confirmed"], "zh-CN"), SIGN)
    assert len(rendered.wechat_fields["thing1"]) == WECHAT_FIELD_MAX
    assert rendered.wechat_fields["thing1"].endswith("…")


def test_a_template_whose_texts_disagree_is_refused() -> None:
    data = {"category": "service", "wechat": {"template_id": "x", "zh-CN": {}, "en-US": {}},
            "sms": {"aliyun_template_code": {"zh-CN": "A", "en-US": "B"},
                    "tencent_template_id": {"zh-CN": "1", "en-US": "2"},
                    "params": ["salutation"], "zh-CN": "${salutation}", "en-US": "${points}"}}
    with pytest.raises(TemplateError, match="en-US SMS uses"):
        parse_template("broken", data)
    with pytest.raises(TemplateError, match="unknown category"):
        parse_template("broken", {**data, "category": "spam"})
