"""Which events a member hears about, as which template, with which facts; where a new
message goes (consent, closure, quiet hours and the cap); how its text is rendered.

Facts are plain JSON values (no personal data); they are stored with the message and
formatted for the member's language when it is rendered. Days are the member's local days
(the rules' zone, Asia/Shanghai), never UTC's. An English message carries no Chinese
characters: a title that has no English of its own reads as what it is (`KIND_NAMES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, Literal

from contracts.accounts.v1 import MemberTierChanged
from contracts.industries import ENGLISH
from contracts.points.v1 import PointsExpiringSoon, PointsGoodwillAwarded
from contracts.rewards.v1 import OffersRecommended, RedemptionCancelled, RedemptionConfirmed
from contracts.tiers import Tier

from .offers import offer_list
from .salons import SalonEvent, english, salon_facts, salon_template
from .salutations import CJK
from .schedule import SHANGHAI, Rules, plan
from .templates import (
    SMS_PARAM_MAX,
    WECHAT_FIELD_MAX,
    Category,
    Language,
    Recipient,
    Template,
    render,
)
from .tier_changes import TierRule, tier_message

#: How each tier reads in a message.
TIER_NAMES: dict[Language, dict[Tier, str]] = {
    "zh-CN": {"standard": "普通", "gold": "金卡", "oto_fortune": "沃德财富",
              "private_banking": "私人银行"},
    "en-US": {"standard": "Standard", "gold": "Gold", "oto_fortune": "OTO Fortune",
              "private_banking": "Private Banking"},
}
#: What a redemption's Chinese-only title reads as in English (by the redemption's kind).
KIND_NAMES = {"lounge": "Airport lounge visit", "offer": "Partner offer", None: "Reward"}


@dataclass(frozen=True, slots=True)
class Intent:
    """A message an event asks for; at most one per (cause, template)."""

    member_id: str
    template: str
    cause_id: str
    facts: dict[str, Any]


def intent_for(event: Any, cause_id: str, *, tier_rule: TierRule | None = None,
               zone: tzinfo = SHANGHAI) -> Intent | None:
    """The message an event asks for, or None for events members do not hear about. A tier
    change needs the programme's `tier_rule` (a downgrade states it); `zone` is the
    members' (their local day)."""
    if isinstance(event, MemberTierChanged):
        if tier_rule is None:
            raise ValueError("a tier change's message needs the programme's tier rule")
        message = tier_message(event, tier_rule)
        if message is None:
            return None
        template, facts = message
        return Intent(event.member_id, template, cause_id, facts)
    if isinstance(event, RedemptionConfirmed) and event.kind == "donation":  # a thank-you
        return Intent(event.member_id, "donation_thanks", cause_id, {
            "charity": event.title, "charity_en": event.title_en or event.title,
            "points": event.points})
    if isinstance(event, RedemptionConfirmed):
        return Intent(event.member_id, "redemption_confirmed", cause_id, {
            "title": event.title, "kind": event.kind, "persons": event.persons,
            "points": event.points,
            # Events before revision 2 have no short reference: the id, whole.
            "reference": event.reference or event.redemption_id,
            "valid_on": (event.valid_on or event.confirmed_at.astimezone(zone).date()
                         ).isoformat()})
    if isinstance(event, RedemptionCancelled):
        return Intent(event.member_id, "redemption_cancelled", cause_id,
                      {"title": event.title, "points": event.points_to_refund})
    if isinstance(event, PointsExpiringSoon):
        return Intent(event.member_id, "points_expiring", cause_id,
                      {"points": event.points, "expires_on": event.expires_on.isoformat()})
    if isinstance(event, PointsGoodwillAwarded):  # an apology for a complaint
        return Intent(event.member_id, "goodwill_apology", cause_id, {"points": event.points})
    if isinstance(event, OffersRecommended):  # one a month: the cause is (member, month)
        return Intent(event.member_id, "offers_recommended",
                      f"offers:{event.member_id}:{event.month}", {
                          "month": event.month,
                          "offers": [{"offer_id": o.offer_id, "title": o.title,
                                      "title_en": o.title_en, "merchant": o.merchant,
                                      "industry_en": ENGLISH[o.industry]}
                                     for o in event.offers]})
    if isinstance(event, SalonEvent):  # a member event (salons.py)
        template = salon_template(event)
        return template and Intent(event.member_id, template, cause_id,
                                   salon_facts(event, zone))
    return None


def summary_intent(member_id: str, day: date, points: int, purchases: int) -> Intent:
    """The day's points summary; its cause is the (member, day), so one per day."""
    return Intent(member_id, "points_summary", f"summary:{member_id}:{day.isoformat()}",
                  {"day": day.isoformat(), "points": points, "purchases": purchases})


def birthday_intent(member_id: str, year: int) -> Intent:
    return Intent(member_id, "birthday", f"birthday:{member_id}:{year}", {})


def values_for(facts: dict[str, Any], language: Language) -> dict[str, str]:
    """The facts as the member reads them. Counts stay digits (WeChat's number fields take
    nothing else); the texts word around them ("persons: 2")."""
    values = {key: str(value) for key, value in facts.items()}
    if "salon" in facts and language == "en-US":  # a member event (salons.py)
        return english(facts, values)
    if "tier" in facts:
        values["tier"] = TIER_NAMES[language][facts["tier"]]
    if "months" in facts and language == "en-US":  # the tier programme's rule
        n = int(facts["months"])
        values["months"] = "month" if n == 1 else f"{n} months"
    if "title" in facts and language == "en-US" and CJK.search(str(facts["title"])):
        values["title"] = KIND_NAMES.get(facts.get("kind"), KIND_NAMES[None])
    if "charity_en" in facts and language == "en-US":  # a donation's charity
        values["charity"] = facts["charity_en"]
    if "offers" in facts:  # offers that fit: a list that fits, titles never cut
        values["offers"] = offer_list(facts["offers"], language, SMS_PARAM_MAX)
        values["offers_brief"] = offer_list(facts["offers"], language, WECHAT_FIELD_MAX)
    if "years" in facts and language == "en-US":  # membership anniversary
        n = int(facts["years"])
        values["years"] = "1 year" if n == 1 else f"{n} years"
    return values


def consent_missing(category: str, contact: Mapping | None) -> bool:
    """Transactional messages need no consent; service messages need the service-message
    consent, marketing the marketing consent. Unknown contact data (not projected yet)
    counts as consent not given for marketing only: the others wait for the contact."""
    if category == "transactional":
        return False
    if category == "marketing":
        return contact is None or not contact["marketing_consent"]
    return contact is not None and not contact["service_consent"]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a new message goes in the log: queued until `not_before`, or never sent."""

    state: Literal["queued", "skipped", "capped"]
    not_before: datetime
    #: The member's local day it counts against the cap (None: uncounted).
    day: date | None = None
    reason: str | None = None


def place(category: Category, contact: Mapping | None, closed: bool,
          counted: dict[date, int], now: datetime, rules: Rules,
          waits_for_morning: bool = False) -> Placement:
    """A closed member hears nothing, a missing consent skips the message, the rest is
    planned around quiet hours and the daily cap (`counted` is updated, see `plan`)."""
    if closed:
        return Placement("skipped", now, reason="member_closed")
    if consent_missing(category, contact):
        return Placement("skipped", now, reason="no_consent")
    slot = plan(category, now, counted, rules, waits_for_morning)
    if slot.state == "capped":
        return Placement("capped", slot.not_before, slot.day, "daily_cap")
    return Placement("queued", slot.not_before, slot.day)


def render_body(template: Template, facts: Mapping[str, Any], family_name: str, gender: str,
                language: str, sign_name: str) -> dict[str, Any]:
    """The message's text as stored in the log (`messages.body`)."""
    recipient = Recipient(family_name=family_name, gender=gender,  # type: ignore[arg-type]
                          language=language)  # type: ignore[arg-type]
    rendered = render(template, recipient, values_for(dict(facts), recipient.language),
                      sign_name)
    return {"sms_text": rendered.sms_text, "sms_params": rendered.sms_params,
            "wechat_fields": rendered.wechat_fields}
