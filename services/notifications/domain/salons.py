"""Member events ("salons") as messages: an invitation (marketing), the reminder the day
before and the news of a seat or of a cancellation (transactional: the member's own
booking). The start reads as the member's local date and time. An English message carries
no Chinese: the salon's English title where staff gave one, else "Members' salon"; a city
or venue known only in Chinese reads as "see the app"."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from contracts.rewards.v1 import SalonInvited, SalonReminderDue, SalonRsvpChanged

from .salutations import CJK
from .schedule import SHANGHAI

SalonEvent = SalonInvited | SalonReminderDue | SalonRsvpChanged
ENGLISH_TITLE = "Members' salon"
ENGLISH_PLACE = "see the app"


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
    for key in ("city", "venue"):
        if CJK.search(str(facts[key])):
            values[key] = ENGLISH_PLACE
    return values
