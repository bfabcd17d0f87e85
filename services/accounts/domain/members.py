"""Membership from the core-banking customer file: what one customer event does to a member.

Core banking sends the whole profile on every customer event, so:
- a profile (onboarded OR updated) for an unknown customer enrols them: the profile is
  complete, and a customer who predates the programme may first appear with an update;
- a profile for a known member updates it; only the differences are announced;
- a profile older than the one applied is stale and ignored (redelivery, replays);
- closing is final: later profiles for a closed member are ignored;
- a member who withdrew the marketing consent by replying to a message (an SMS stop
  keyword, unfollowing on WeChat) keeps it withdrawn: core banking never heard of it, so
  its profiles still carrying the consent are older news.

Phone numbers and openids reach this module only as keyed hashes: equal hash, same value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal

Action = Literal["enrol", "update", "close", "ignore"]
#: What a step announces (handlers/events.py turns each into contract events).
Happened = Literal["enrolled", "updated", "contact_changed", "closed"]
CONSENTS = ("service_messages", "marketing")


@dataclass(frozen=True, slots=True)
class Profile:
    family_name: str
    given_name: str
    gender: str
    birth_date: date
    preferred_language: str
    mobile_hash: bytes
    openid_hash: bytes | None
    service_messages: bool
    marketing: bool

    def consent(self, name: str) -> bool:
        return getattr(self, name)


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    status: Literal["active", "closed"]
    profile: Profile | None  # None once closed (erased)
    profile_at: datetime | None
    #: When the member withdrew the marketing consent by a reply (None: never).
    marketing_withdrawn_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    member: Member | None
    language_changed: bool = False
    contact_changed: bool = False
    #: (consent, granted) for every consent that changed, or all of them on enrolment.
    consent_changes: tuple[tuple[str, bool], ...] = field(default=())
    why_ignored: str | None = None

    @property
    def happened(self) -> tuple[Happened, ...]:
        """What the step did that others hear of, in the order it is announced: the
        lifecycle first (an update only if the language changed: the rest of a profile
        is contact data), then the contact data."""
        if self.action == "close":
            return ("closed",)
        lifecycle: tuple[Happened, ...] = ()
        if self.action == "enrol":
            lifecycle = ("enrolled",)
        elif self.action == "update" and self.language_changed:
            lifecycle = ("updated",)
        return lifecycle + (("contact_changed",) if self.contact_changed else ())


def on_profile(member: Member | None, member_id: str, profile: Profile,
               at: datetime) -> Step:
    if member is None:
        new = Member(member_id, "active", profile, at)
        return Step("enrol", new, contact_changed=True,
                    consent_changes=tuple((c, profile.consent(c)) for c in CONSENTS))
    if member.status == "closed":
        return Step("ignore", member, why_ignored="member closed")
    if member.profile_at is not None and at < member.profile_at:
        return Step("ignore", member, why_ignored="older than the profile applied")
    if member.marketing_withdrawn_at is not None and profile.marketing:
        profile = replace(profile, marketing=False)
    old = member.profile
    new = Member(member_id, "active", profile, at, member.marketing_withdrawn_at)
    if old is None:  # cannot happen for an active member; treat as all new
        return Step("update", new, True, True, tuple((c, profile.consent(c)) for c in CONSENTS))
    return Step(
        "update", new,
        language_changed=old.preferred_language != profile.preferred_language,
        contact_changed=old != profile,
        consent_changes=tuple((c, profile.consent(c)) for c in CONSENTS
                              if old.consent(c) != profile.consent(c)),
    )


def on_close(member: Member | None, member_id: str, at: datetime) -> Step:
    """Closing erases the profile. An unknown customer still leaves a closed member behind,
    so a late onboarding cannot bring them back, and still announces the closure."""
    if member is not None and member.status == "closed":
        return Step("ignore", member, why_ignored="member already closed")
    return Step("close", Member(member_id, "closed", None, at))


def on_marketing_withdrawn(member: Member | None, member_id: str, at: datetime) -> Step:
    """The member replied to stop marketing: the consent goes (announced as a contact
    change) and stays gone against core-banking profiles. Already withdrawn, nothing
    changes; unknown or closed, the reply is ignored."""
    if member is None or member.profile is None:
        return Step("ignore", member, why_ignored="no active member")
    if member.marketing_withdrawn_at is not None and not member.profile.marketing:
        return Step("ignore", member, why_ignored="marketing already withdrawn")
    withdrawn = Member(member_id, "active", replace(member.profile, marketing=False),
                       member.profile_at, member.marketing_withdrawn_at or at)
    if not member.profile.marketing:  # core banking had it off: only the reply is kept
        return Step("update", withdrawn)
    return Step("update", withdrawn, contact_changed=True,
                consent_changes=(("marketing", False),))
