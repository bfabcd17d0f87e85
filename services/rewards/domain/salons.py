"""Member events ("salons"): what staff may schedule, change and cancel, who is invited,
when members may answer, and what an answer does to a guest's place. Pure: no I/O.

A salon is open to the tiers it names; members are invited within its invitation window
and answer within its RSVP window. An acceptance takes a seat while there is one, else a
place on the waitlist (in the order of joining); a declined seat goes to the first on the
waitlist. The reminder is due the day before it starts. A cancelled salon is final."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from contracts.tiers import TIERS

GuestStatus = Literal["invited", "accepted", "waitlisted", "declined"]
#: What an answer does: take a seat or wait for one, give a seat up (to the first
#: waiting), leave the waitlist or the invitation, or nothing (answered so before).
Move = Literal["seat_or_wait", "free_seat", "decline", "unchanged"]
CATEGORY = re.compile(r"^[a-z][a-z_]{1,31}$")
#: How long before the start the reminder is due.
REMINDER_BEFORE = timedelta(days=1)
#: What staff may change (the rest: the id, the status, the counts).
CHANGEABLE = frozenset({"title", "title_en", "category", "city", "venue", "starts_at",
                        "capacity", "eligible_tiers", "invite_from", "invite_until",
                        "rsvp_from", "rsvp_until"})


class SalonError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True, slots=True)
class Salon:
    id: str
    title: str
    category: str
    city: str
    venue: str
    starts_at: datetime
    capacity: int
    eligible_tiers: tuple[str, ...]
    invite_from: datetime
    invite_until: datetime
    rsvp_from: datetime
    rsvp_until: datetime
    title_en: str | None = None
    status: Literal["scheduled", "cancelled"] = "scheduled"
    version: int = 1
    accepted: int = 0
    reminded: bool = False


def checked(salon: Salon) -> Salon:
    """The salon, if it is one staff may keep; else a SalonError (422 invalid_salon)."""
    problems = []
    if not CATEGORY.match(salon.category):
        problems.append("category: lower-case letters, e.g. health, cars, collecting, wealth")
    if not salon.eligible_tiers or not set(salon.eligible_tiers) <= set(TIERS):
        problems.append(f"eligible_tiers: one or more of {', '.join(TIERS)}")
    if salon.capacity < 1:
        problems.append("capacity: at least 1")
    if not salon.invite_from < salon.invite_until <= salon.starts_at:
        problems.append("the invitation window must end by the start")
    if not salon.rsvp_from < salon.rsvp_until <= salon.starts_at:
        problems.append("the RSVP window must end by the start")
    if problems:
        raise SalonError(422, "invalid_salon", "; ".join(problems))
    return salon


def schedule(existing: Salon | None, salon: Salon, now: datetime) -> Salon:
    if existing is not None:
        raise SalonError(409, "salon_exists", f"salon {salon.id} exists")
    if salon.starts_at <= now:
        raise SalonError(422, "invalid_salon", "starts_at must be in the future")
    return checked(dataclasses.replace(salon, status="scheduled", version=1, accepted=0))


def change(existing: Salon | None, salon_id: str, fields: dict[str, Any]) -> Salon:
    """The salon changed; capacity never below the seats taken."""
    current = _open(existing, salon_id)
    unknown = set(fields) - CHANGEABLE
    if unknown:
        raise SalonError(422, "invalid_salon", f"not changeable: {', '.join(sorted(unknown))}")
    changed = dataclasses.replace(current, **fields, version=current.version + 1)
    if changed.capacity < current.accepted:
        raise SalonError(409, "capacity_below_accepted",
                         f"{current.accepted} members have accepted already")
    return checked(changed)


def cancel(existing: Salon | None, salon_id: str) -> Salon:
    current = _open(existing, salon_id)
    return dataclasses.replace(current, status="cancelled", version=current.version + 1)


def _open(existing: Salon | None, salon_id: str) -> Salon:
    if existing is None:
        raise SalonError(404, "not_found", f"no salon {salon_id}")
    if existing.status == "cancelled":
        raise SalonError(409, "salon_cancelled", f"salon {salon_id} is cancelled")
    return existing


def eligible(salon: Salon, tier: str | None) -> bool:
    return tier is not None and tier in salon.eligible_tiers


def inviting(salon: Salon, now: datetime) -> bool:
    return salon.status == "scheduled" and salon.invite_from <= now < salon.invite_until


def answering(salon: Salon, now: datetime) -> bool:
    return salon.status == "scheduled" and salon.rsvp_from <= now < salon.rsvp_until


def reminder_due(salon: Salon, now: datetime) -> bool:
    return (salon.status == "scheduled" and not salon.reminded
            and salon.starts_at - REMINDER_BEFORE <= now < salon.starts_at)


#: (the guest's status, accepting?) -> what the answer does.
MOVES: dict[tuple[GuestStatus, bool], Move] = {
    ("invited", True): "seat_or_wait",
    ("declined", True): "seat_or_wait",
    ("accepted", True): "unchanged",
    ("waitlisted", True): "unchanged",
    ("invited", False): "decline",
    ("waitlisted", False): "decline",
    ("accepted", False): "free_seat",
    ("declined", False): "unchanged",
}


def move(salon: Salon, status: GuestStatus, accept: bool, now: datetime) -> Move:
    """What a guest's answer does; outside the RSVP window a SalonError."""
    if salon.status == "cancelled":
        raise SalonError(409, "salon_cancelled", "the salon is cancelled")
    if not answering(salon, now):
        raise SalonError(409, "rsvp_closed", "answers are not taken now")
    return MOVES[(status, accept)]


def as_json(salon: Salon) -> dict[str, Any]:
    data = dataclasses.asdict(salon)
    data["eligible_tiers"] = list(salon.eligible_tiers)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
    return data
