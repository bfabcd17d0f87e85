"""Offers that fit as one marketing message: every offer named whole or by a shorter name
(never cut mid-title), in the member's language, within the SMS variable's and the WeChat
field's limits; an English message carries no Chinese."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.rewards.v1 import OffersRecommended, RecommendedOffer
from services.notifications.domain.messages import intent_for, render_body
from services.notifications.domain.offers import offer_list
from services.notifications.domain.salutations import CJK
from services.notifications.domain.templates import SMS_PARAM_MAX, WECHAT_FIELD_MAX
from services.notifications.settings import load_templates

COFFEE = RecommendedOffer(offer_id="off_coffee_00_0", merchant="星巴克", industry="coffee",
                          title="星巴克 中杯饮品兑换券", title_en="Coffee: reward for 800 points")
HOTEL = RecommendedOffer(offer_id="off_hotels_05_0", merchant="洲际酒店集团", industry="hotels",
                         title="洲际酒店集团 行政酒廊下午茶",
                         title_en="Hotels: reward for 12,000 points")
DINING = RecommendedOffer(offer_id="off_dining_15_2", merchant="大董烤鸭", industry="dining",
                          title="大董烤鸭 用餐88折", title_en="Dining: 12% off")


def event(*offers: RecommendedOffer) -> OffersRecommended:
    return OffersRecommended(member_id="C0000000001", month="2027-03", offers=list(offers),
                             recommended_at=datetime(2027, 3, 1, 2, tzinfo=UTC))


def facts(*offers):
    return intent_for(event(*offers), "evt-1").facts["offers"]


@pytest.mark.parametrize(("offers", "language", "limit", "expected"), [
    ((COFFEE,), "zh-CN", SMS_PARAM_MAX, "星巴克 中杯饮品兑换券"),
    ((COFFEE, DINING), "zh-CN", SMS_PARAM_MAX, "星巴克 中杯饮品兑换券、大董烤鸭 用餐88折"),
    # too long whole: the last ones by their merchant, the best keep their titles
    ((COFFEE, HOTEL, DINING), "zh-CN", SMS_PARAM_MAX,
     "星巴克 中杯饮品兑换券、洲际酒店集团 行政酒廊下午茶、大董烤鸭"),
    ((COFFEE, HOTEL, DINING), "zh-CN", 25, "星巴克 中杯饮品兑换券、洲际酒店集团、大董烤鸭"),
    ((COFFEE, HOTEL, DINING), "zh-CN", WECHAT_FIELD_MAX, "星巴克、洲际酒店集团、大董烤鸭"),
    ((COFFEE, HOTEL, DINING), "en-US", SMS_PARAM_MAX, "Coffee; Hotels; Dining"),
    ((DINING,), "en-US", SMS_PARAM_MAX, "Dining: 12% off"),
    # not even the short names fit: fewer offers, the best first
    ((COFFEE, HOTEL, DINING), "en-US", WECHAT_FIELD_MAX, "Coffee; Hotels"),
    ((COFFEE, HOTEL, DINING), "zh-CN", 8, "星巴克"),
])
def test_the_offers_fit_without_a_cut_title(offers, language, limit, expected):
    text = offer_list(facts(*offers), language, limit)
    assert text == expected
    assert len(text) <= limit and "…" not in text


def test_one_message_per_member_and_month_whatever_the_events_id():
    a, b = intent_for(event(COFFEE), "evt-1"), intent_for(event(COFFEE), "evt-2")
    assert a.template == "offers_recommended"
    assert a.cause_id == b.cause_id == "offers:C0000000001:2027-03"


@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
def test_the_message_lists_the_offers_with_the_opt_out_line(language):
    template = load_templates()["offers_recommended"]
    assert template.category == "marketing"
    body = render_body(template, intent_for(event(COFFEE, HOTEL, DINING), "e").facts,
                       "张", "female", language, "示例银行")
    if language == "zh-CN":
        assert "星巴克 中杯饮品兑换券、洲际酒店集团 行政酒廊下午茶、大董烤鸭" in body["sms_text"]
        assert body["sms_text"].endswith("回复TD或R退订")
    else:
        assert "Coffee; Hotels; Dining" in body["sms_text"]
        assert body["sms_text"].endswith("Reply STOP or R to opt out")
        assert not CJK.search(body["sms_text"].split("】", 1)[1])
        assert not any(CJK.search(v) for v in body["wechat_fields"].values())
    assert not any("…" in v for v in [*body["sms_params"].values(),
                                      *body["wechat_fields"].values()])
