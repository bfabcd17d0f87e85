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
    "tier_downgraded": {"tier": "oto_fortune", "effective_date": "2026-03-01"},
    "redemption_confirmed": {"title": "首都国际机场T3航站楼国内出发贵宾休息室（近C区登机口）" * 2,
                             "persons": 3, "points": 9000, "reference": "R" * 64,
                             "valid_on": "2026-05-20"},
    "redemption_cancelled": {"title": "Alliance offer: two course dinner for two" * 2,
                             "points": 3000},
    "points_expiring": {"points": 123456, "expires_on": "2026-12-31"},
    "points_summary": {"day": "2026-03-10", "points": 1135, "purchases": 12},
    "birthday": {},
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
    opt_out = ("拒收请回复R", "Reply R to opt out")
    assert rendered.sms_text.endswith(opt_out) == (template.category == "marketing")
    assert list(rendered.sms_params) == list(template.sms_params)


@pytest.mark.parametrize(("family", "gender", "lang", "expected"), [
    ("张", "male", "zh-CN", "张先生"),
    ("李", "female", "zh-CN", "李女士"),
    ("王", "unknown", "zh-CN", "尊敬的客户"),
    ("Zhang", "male", "en-US", "Mr Zhang"),
    ("Li", "female", "en-US", "Ms Li"),
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
    assert en.sms_text.startswith("【XX银行】Ms Zhang, congratulations: from 2026-03-01 you are "
                                  "a Gold member.")
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
