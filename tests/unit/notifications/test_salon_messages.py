"""Member events as messages (domain/salons.py): which event asks for which template, and
the facts in the member's local time and language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.rewards.v1 import SalonInvited, SalonReminderDue, SalonRsvpChanged
from services.notifications.domain.messages import intent_for, values_for
from services.notifications.domain.salons import english_city
from services.notifications.settings import load_templates

AT = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
GUEST = {"member_id": "C0000000001", "salon_id": "sal_wine", "title": "葡萄酒品鉴",
         "city": "上海", "venue": "外滩18号", "starts_at": AT}
TEMPLATES = load_templates()


@pytest.mark.parametrize(("event", "template"), [
    (SalonInvited(**GUEST, category="wealth", rsvp_until=AT, invited_at=AT),
     "salon_invitation"),
    (SalonReminderDue(**GUEST, due_at=AT), "salon_reminder"),
    (SalonRsvpChanged(**GUEST, status="accepted", promoted=True, changed_at=AT),
     "salon_promoted"),
    (SalonRsvpChanged(**GUEST, status="cancelled", changed_at=AT), "salon_cancelled"),
    (SalonRsvpChanged(**GUEST, status="accepted", changed_at=AT), None),
    (SalonRsvpChanged(**GUEST, status="waitlisted", changed_at=AT), None),
    (SalonRsvpChanged(**GUEST, status="declined", changed_at=AT), None),
])
def test_which_salon_events_become_messages(event, template) -> None:
    intent = intent_for(event, "cause-1")
    assert (intent and intent.template) == template
    if intent:
        assert intent.facts["starts"] == "2026-12-05 14:00"


def test_the_invitation_is_marketing_and_the_others_transactional() -> None:
    assert TEMPLATES["salon_invitation"].category == "marketing"
    assert {TEMPLATES[n].category for n in ("salon_reminder", "salon_promoted",
                                            "salon_cancelled")} == {"transactional"}


@pytest.mark.parametrize(("title_en", "title"), [
    (None, "Members' salon"),
    ("Wine tasting", "Wine tasting"),
])
def test_english_values_carry_no_chinese(title_en, title) -> None:
    intent = intent_for(SalonReminderDue(**{**GUEST, "title_en": title_en}, due_at=AT), "c")
    values = values_for(intent.facts, "en-US")
    assert (values["title"], values["city"], values["venue"]) == (
        title, "Shanghai", "venue in the app")
    assert values_for(intent.facts, "zh-CN")["title"] == "葡萄酒品鉴"


@pytest.mark.parametrize(("city", "english"), [
    ("上海", "Shanghai"), ("重庆", "Chongqing"), ("长沙", "Changsha"), ("西安", "Xi'an"),
    ("哈尔滨", "Harbin"), ("乌鲁木齐", "Urumqi"), ("呼和浩特", "Hohhot"), ("珠海市", "Zhuhai"),
])
def test_a_city_reads_as_its_english_name(city, english) -> None:
    assert english_city(city) == english
