"""Staff changes to campaigns, decided. Pure: given the campaigns stored now, the clock and
the request, each returns the campaign as it will be stored, or refuses.

A change never alters how a purchase already posted earns: re-rating a past month (a late
tier change) rates it with the campaigns stored then, and must find what it earned. So a
campaign starts now or later; once it has started, only its end may move, and not into the
past; ending it ends it now. Before it starts (or while it is switched off) anything may
change. The whole programme is then checked with the campaign in it (domain/rules.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from .rules import Campaign, EarningRules

Action = Literal["seeded", "added", "changed", "ended"]


class Refused(Exception):
    """A change staff may not make; `status` is the HTTP status it answers."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Change:
    action: Action
    before: Campaign | None
    after: Campaign
    #: The programme with the campaigns after the change.
    rules: EarningRules


def add(rules: EarningRules, data: Mapping[str, Any], now: datetime) -> Change:
    """A new campaign from `data` (Campaign's fields; it starts now without `starts_at`)."""
    campaign = _campaign({"starts_at": now, **data})
    if any(c.id == campaign.id for c in rules.campaigns):
        raise Refused(409, "campaign_exists", f"campaign {campaign.id} exists; change it")
    _not_in_the_past(campaign, now)
    return _checked("added", rules, None, campaign)


def change(rules: EarningRules, campaign_id: str, updates: Mapping[str, Any],
           now: datetime) -> Change:
    before = _stored(rules, campaign_id)
    if "id" in updates and updates["id"] != campaign_id:
        raise Refused(422, "invalid_campaign", "a campaign's id cannot change")
    after = _campaign({**before.model_dump(), **updates})
    if _has_run(before, now):
        moved = sorted(k for k in Campaign.model_fields
                       if k != "ends_at" and getattr(after, k) != getattr(before, k))
        if moved:
            raise Refused(409, "campaign_started",
                          f"campaign {campaign_id} has started: only its end may change"
                          f" (not {', '.join(moved)}); end it and add another")
        if before.ends_at <= now:
            raise Refused(409, "campaign_over", f"campaign {campaign_id} is over")
        if after.ends_at < now:
            raise Refused(422, "invalid_campaign", "ends_at must not be in the past")
    else:
        _not_in_the_past(after, now)
    return _checked("changed", rules, before, after)


def end(rules: EarningRules, campaign_id: str, now: datetime) -> Change:
    """Ends a running campaign now; one not started yet is switched off (it never ran)."""
    before = _stored(rules, campaign_id)
    if not before.enabled or before.ends_at <= now:
        raise Refused(409, "campaign_over", f"campaign {campaign_id} is not running or due")
    if _has_run(before, now):
        after = before.model_copy(update={"ends_at": now})
    else:
        after = before.model_copy(update={"enabled": False})
    return _checked("ended", rules, before, after)


def status(campaign: Campaign, now: datetime) -> str:
    if not campaign.enabled:
        return "off"
    if now < campaign.starts_at:
        return "scheduled"
    return "running" if now < campaign.ends_at else "ended"


def _has_run(campaign: Campaign, now: datetime) -> bool:
    return campaign.enabled and campaign.starts_at <= now


def _not_in_the_past(campaign: Campaign, now: datetime) -> None:
    if campaign.enabled and campaign.starts_at < now:
        raise Refused(422, "invalid_campaign",
                      "starts_at must not be in the past: purchases already posted keep"
                      " what they earned")


def _stored(rules: EarningRules, campaign_id: str) -> Campaign:
    for campaign in rules.campaigns:
        if campaign.id == campaign_id:
            return campaign
    raise Refused(404, "unknown_campaign", f"no campaign {campaign_id}")


def _campaign(data: Mapping[str, Any]) -> Campaign:
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        raise Refused(422, "invalid_campaign", _first_error(exc)) from None


def _checked(action: Action, rules: EarningRules, before: Campaign | None,
             after: Campaign) -> Change:
    campaigns = [c for c in rules.campaigns if c.id != after.id] + [after]
    try:
        new_rules = rules.with_campaigns(sorted(campaigns, key=lambda c: c.id))
    except ValidationError as exc:
        raise Refused(422, "invalid_campaign", _first_error(exc)) from None
    return Change(action, before, after, new_rules)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]
