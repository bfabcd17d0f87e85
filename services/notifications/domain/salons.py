"""Member events ("salons") as messages: an invitation (marketing), the reminder the day
before and the news of a seat or of a cancellation (transactional: the member's own
booking). The start reads as the member's local date and time. An English message carries
no Chinese: the salon's English title where staff gave one, else "Members' salon"; a city
in Chinese in its English name (the usual one where there is one, else pinyin: 西安 ->
Xi'an); a venue known only in Chinese reads as "venue in the app"."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from pypinyin import Style, lazy_pinyin

from contracts.rewards.v1 import SalonInvited, SalonReminderDue, SalonRsvpChanged

from .salutations import CJK
from .schedule import SHANGHAI

SalonEvent = SalonInvited | SalonReminderDue | SalonRsvpChanged
ENGLISH_TITLE = "Members' salon"
ENGLISH_VENUE = "venue in the app"
#: Cities whose English name is not their pinyin.
CITY_NAMES = {"哈尔滨": "Harbin", "乌鲁木齐": "Urumqi", "呼和浩特": "Hohhot", "拉萨": "Lhasa",
              "澳门": "Macao", "香港": "Hong Kong"}


def salon_template(event: SalonEvent) -> str | None:
    """The template an event asks for; None: nothing to tell (an answer the member gave)."""
    if isinstance(event, SalonInvited):
        return "salon_invitation"
    if isinstance(event, SalonReminderDue):
        return "salon_reminder"
    if event.status == "cancelled":
        return "salon_cancelled"
    if event.status == "accepted" and event.promoted:
        return "salon_promoted"
    return None


def salon_facts(event: SalonEvent, zone: tzinfo = SHANGHAI) -> dict[str, Any]:
    return {"salon": event.salon_id, "title": event.title, "title_en": event.title_en,
            "city": event.city, "venue": event.venue,
            "starts": event.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")}


def english(facts: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    """The values of a salon's message in English."""
    values["title"] = facts.get("title_en") or (
        ENGLISH_TITLE if CJK.search(str(facts["title"])) else str(facts["title"]))
    if CJK.search(str(facts["city"])):
        values["city"] = english_city(str(facts["city"]))
    if CJK.search(str(facts["venue"])):
        values["venue"] = ENGLISH_VENUE
    return values


def english_city(city: str) -> str:
    """上海 -> Shanghai, 西安 -> Xi'an (an apostrophe before a syllable opening with a vowel,
    as pinyin writes it), 哈尔滨 -> Harbin."""
    name = city.strip().removesuffix("市")
    if name in CITY_NAMES:
        return CITY_NAMES[name]
    syllables = lazy_pinyin(name, style=Style.NORMAL)
    word = syllables[0] + "".join("'" + s if s[0] in "aeo" else s for s in syllables[1:])
    return word.capitalize()
