"""Care days on the real broker and database (fake clock): on a festival's day members with
marketing consent get one greeting each in their language, the Double Ninth's only those
aged 60 and over; nothing before the greetings' hour or in quiet hours; a re-run, even
with the day's progress forgotten, sends nothing more; membership anniversaries come from
member.enrolled (29 February greeted on 28 February), and a closed member's enrolment goes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.accounts.v1 import MemberClosed, MemberEnrolled
from contracts.envelope import encode
from contracts.topics import MEMBER_CONTACTS_V1, MEMBERS_V1
from tests.integration.test_notifications_support import (
    SHANGHAI,
    contact,
    members,
    notifications_world,
    remember,
)

pytestmark = pytest.mark.integration
SOURCE = "urn:test:accounts"
DOUBLE_NINTH = date(2027, 10, 8)  # lunar 9/9 of 2027


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def enrolled(member, on: datetime):
    return encode(MemberEnrolled(member_id=member.id, tier="standard",
                                 preferred_language="zh-CN", enrolled_at=on), source=SOURCE)


async def test_double_ninth_greets_consenting_members_aged_60_and_over_once(infra, pii):
    async with notifications_world(infra, at(DOUBLE_NINTH, 7, 30),
                                   care_days_batch_size=2) as w:
        senior, sixty_today, en_senior, young, refusing = members(5, wechat=False)
        [wechat_senior] = members(1, wechat=True)
        everyone = [senior, sixty_today, en_senior, young, refusing, wechat_senior]
        remember(pii, everyone)
        await w.contacts([
            contact(senior, family="王", gender="female", marketing=True,
                    birth=date(1950, 3, 3)),
            contact(sixty_today, marketing=True, birth=date(1967, 10, 8)),
            contact(en_senior, family="Li", language="en-US", marketing=True,
                    birth=date(1940, 1, 1)),
            contact(young, marketing=True, birth=date(1967, 10, 9)),  # 60 tomorrow
            contact(refusing, marketing=False, birth=date(1945, 5, 5)),
            contact(wechat_senior, family="赵", marketing=True, birth=date(1958, 8, 8))])

        assert await w.service.care_days.run_once() == {}  # 07:30: quiet hours
        w.clock.set(at(DOUBLE_NINTH, 9, 59))
        assert await w.service.care_days.run_once() == {}  # before the greetings' hour
        assert await w.count("SELECT count(*) FROM messages") == 0

        w.clock.set(at(DOUBLE_NINTH, 10, 0))
        assert await w.service.care_days.run_once() == {"double_ninth": 4,
                                                        "membership_anniversary": 0}
        assert await w.service.care_days.run_once() == {"double_ninth": 0,
                                                        "membership_anniversary": 0}
        # Even with the day's progress forgotten, the dedup key holds.
        await w.service.pool.execute("DELETE FROM care_days_done")
        assert await w.service.care_days.run_once() == {"double_ninth": 0,
                                                        "membership_anniversary": 0}

        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=4)
        [zh] = w.sent_to(senior.mobile)
        assert zh["text"].startswith("【XX银行】王女士，九九重阳，恭祝您节日快乐，身体安康、"
                                     "福寿绵长！感谢您一直以来的信任与支持。")
        assert len(w.sent_to(sixty_today.mobile)) == 1
        [en] = w.sent_to(en_senior.mobile)
        assert "Li, on the Double Ninth Festival we wish you good health" in en["text"]
        [wechat] = w.sent_to(wechat_senior.openid)
        assert wechat["fields"] == {"thing1": "赵先生", "thing2": "重阳安康，福寿绵长"}
        assert w.sent_to(young.mobile) == [] and w.sent_to(refusing.mobile) == []
        assert len(w.sandbox.sent) == 4
        rows = await w.service.pool.fetch(
            "SELECT cause_id, not_before FROM messages ORDER BY cause_id")
        assert sorted(r["cause_id"] for r in rows) == sorted(
            f"double_ninth:{m.id}:2027" for m in (senior, sixty_today, en_senior,
                                                  wechat_senior))
        assert {r["not_before"] for r in rows} == {at(DOUBLE_NINTH, 10, 0)}


async def test_no_festival_greeting_is_queued_at_night_nor_held_over(infra, pii):
    spring = date(2027, 2, 6)
    async with notifications_world(infra, at(spring, 21, 30)) as w:
        [member] = members(1, wechat=False)
        remember(pii, [member])
        await w.contacts([contact(member, marketing=True)])
        assert await w.service.care_days.run_once() == {}
        w.clock.set(at(date(2027, 2, 7), 8, 0))
        assert await w.service.care_days.run_once() == {}
        w.clock.set(at(date(2027, 2, 7), 10, 0))  # the next day: no longer the festival
        assert await w.service.care_days.run_once() == {"membership_anniversary": 0}
        assert await w.count("SELECT count(*) FROM messages") == 0


async def test_spring_festival_and_mid_autumn_greet_every_consenting_member(infra, pii):
    # The job's first run (at start) finds no one yet; the next ones find who came since.
    async with notifications_world(infra, at(date(2027, 2, 6), 10, 0),
                                   care_days_batch_size=1) as w:
        zh, en, refusing, late = members(4, wechat=False)
        remember(pii, [zh, en, refusing, late])
        await w.contacts([contact(zh, marketing=True, birth=date(1995, 1, 1)),
                          contact(en, family="Chen", gender="unknown", language="en-US",
                                  marketing=True),
                          contact(refusing, marketing=False), contact(late, marketing=False)])
        assert await w.service.care_days.run_once() == {"spring_festival": 2,
                                                        "membership_anniversary": 0}
        assert await w.service.care_days.run_once() == {"spring_festival": 0,
                                                        "membership_anniversary": 0}
        # A consent given later that day: the next run looks at changed contacts only.
        await w.send(MEMBER_CONTACTS_V1, [contact(late, marketing=True,
                                                  at=datetime(2027, 2, 6, tzinfo=SHANGHAI))])
        await w.until("SELECT count(*) FROM contacts WHERE marketing_consent", expected=3)
        w.clock.set(at(date(2027, 2, 6), 15, 0))
        assert await w.service.care_days.run_once() == {"spring_festival": 1,
                                                        "membership_anniversary": 0}
        w.clock.set(at(date(2027, 9, 15), 11, 0))
        assert await w.service.care_days.run_once() == {"mid_autumn": 3,
                                                        "membership_anniversary": 0}
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=6)
        spring, autumn = w.sent_to(zh.mobile)
        assert spring["text"].startswith("【XX银行】张先生，新春佳节之际，恭祝您和家人新年快乐")
        assert autumn["text"].startswith("【XX银行】张先生，月圆人团圆，恭祝您和家人中秋快乐")
        spring, autumn = w.sent_to(en.mobile)
        assert ", happy Chinese New Year! Wishing you and your family" in spring["text"]
        assert ", wishing you and your family a happy Mid-Autumn Festival" in autumn["text"]
        assert w.sent_to(refusing.mobile) == []
        assert len(w.sent_to(late.mobile)) == 2


async def test_membership_anniversaries_from_enrolment_29_february_on_28(infra, pii):
    feb_28 = date(2027, 2, 28)  # 2027 has no 29 February
    async with notifications_world(infra, at(feb_28, 10, 0)) as w:
        leap, one_year, new, refusing, closed = members(5, wechat=False)
        remember(pii, [leap, one_year, new, refusing, closed])
        await w.contacts([contact(leap, marketing=True), contact(one_year, marketing=True),
                          contact(new, marketing=True), contact(refusing, marketing=False),
                          contact(closed, marketing=True)])
        await w.send(MEMBERS_V1, [
            enrolled(leap, datetime(2024, 2, 29, 9, 0, tzinfo=SHANGHAI)),
            # 2026-02-27 23:30 UTC is 28 February in Shanghai
            enrolled(one_year, datetime(2026, 2, 27, 23, 30, tzinfo=UTC)),
            enrolled(new, datetime(2027, 2, 28, 9, 0, tzinfo=SHANGHAI)),
            enrolled(refusing, datetime(2025, 2, 28, 9, 0, tzinfo=SHANGHAI)),
            enrolled(closed, datetime(2025, 2, 28, 9, 0, tzinfo=SHANGHAI))])
        await w.until("SELECT count(*) FROM memberships", expected=5)
        await w.send(MEMBERS_V1, [encode(MemberClosed(
            member_id=closed.id, closed_at=datetime(2027, 1, 5, tzinfo=SHANGHAI)),
            source=SOURCE)])
        await w.until("SELECT count(*) FROM closed_members")
        assert await w.count("SELECT count(*) FROM memberships WHERE member_id = $1",
                             closed.id) == 0

        assert await w.service.care_days.run_once() == {"membership_anniversary": 2}
        assert await w.service.care_days.run_once() == {"membership_anniversary": 0}
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=2)
        [three] = w.sent_to(leap.mobile)
        assert three["text"].startswith("【XX银行】张先生，今天是您成为我行会员3周年的日子")
        [one] = w.sent_to(one_year.mobile)
        assert "会员1周年" in one["text"]
        assert len(w.sandbox.sent) == 2
