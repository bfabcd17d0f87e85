"""The rules of member events (domain/salons.py), table by table."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from services.rewards.domain import salons
from services.rewards.domain.salons import MOVES, Salon, SalonError

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def salon(**changes) -> Salon:
    base = Salon(id="sal_wine", title="葡萄酒品鉴", category="wealth", city="上海",
                 venue="外滩18号", starts_at=NOW + 10 * DAY, capacity=5,
                 eligible_tiers=("oto_fortune", "private_banking"), invite_from=NOW,
                 invite_until=NOW + 5 * DAY, rsvp_from=NOW, rsvp_until=NOW + 9 * DAY)
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(("changes", "problem"), [
    ({}, None),
    ({"category": "Cars!"}, "category"),
    ({"eligible_tiers": ()}, "eligible_tiers"),
    ({"eligible_tiers": ("platinum",)}, "eligible_tiers"),
    ({"capacity": 0}, "capacity"),
    ({"invite_until": NOW + 11 * DAY}, "invitation window"),
    ({"invite_from": NOW + 6 * DAY}, "invitation window"),
    ({"rsvp_until": NOW + 11 * DAY}, "RSVP window"),
    ({"rsvp_from": NOW + 9 * DAY}, "RSVP window"),
])
def test_what_staff_may_schedule(changes, problem) -> None:
    if problem is None:
        assert salons.schedule(None, salon(**changes), NOW).version == 1
    else:
        with pytest.raises(SalonError) as refused:
            salons.schedule(None, salon(**changes), NOW)
        assert (refused.value.status, refused.value.code) == (422, "invalid_salon")
        assert problem in refused.value.message


@pytest.mark.parametrize(("existing", "fields", "expected"), [
    (salon(), {"venue": "外滩3号"}, None),
    (None, {"venue": "外滩3号"}, (404, "not_found")),
    (salon(status="cancelled"), {"venue": "外滩3号"}, (409, "salon_cancelled")),
    (salon(accepted=4), {"capacity": 3}, (409, "capacity_below_accepted")),
    (salon(accepted=4), {"capacity": 4}, None),
    (salon(), {"accepted": 0}, (422, "invalid_salon")),
    (salon(), {"starts_at": NOW + 8 * DAY}, (422, "invalid_salon")),  # before rsvp_until
])
def test_what_staff_may_change(existing, fields, expected) -> None:
    if expected is None:
        changed = salons.change(existing, "sal_wine", fields)
        assert changed.version == existing.version + 1
        assert all(getattr(changed, k) == v for k, v in fields.items())
    else:
        with pytest.raises(SalonError) as refused:
            salons.change(existing, "sal_wine", fields)
        assert (refused.value.status, refused.value.code) == expected


def test_scheduling_twice_or_in_the_past_is_refused() -> None:
    with pytest.raises(SalonError, match="exists"):
        salons.schedule(salon(), salon(), NOW)
    with pytest.raises(SalonError, match="future"):
        salons.schedule(None, salon(starts_at=NOW), NOW)


def test_a_cancellation_is_final() -> None:
    cancelled = salons.cancel(salon(), "sal_wine")
    assert (cancelled.status, cancelled.version) == ("cancelled", 2)
    with pytest.raises(SalonError, match="cancelled"):
        salons.cancel(cancelled, "sal_wine")


@pytest.mark.parametrize(("status", "accept", "expected"), [
    ("invited", True, "seat_or_wait"),
    ("declined", True, "seat_or_wait"),
    ("accepted", True, "unchanged"),
    ("waitlisted", True, "unchanged"),
    ("invited", False, "decline"),
    ("waitlisted", False, "decline"),
    ("accepted", False, "free_seat"),
    ("declined", False, "unchanged"),
])
def test_what_an_answer_does(status, accept, expected) -> None:
    assert salons.move(salon(), status, accept, NOW) == expected


def test_every_status_and_answer_has_a_move() -> None:
    assert len(MOVES) == 8


@pytest.mark.parametrize(("changes", "at", "code"), [
    ({}, NOW - timedelta(seconds=1), "rsvp_closed"),
    ({}, NOW + 9 * DAY, "rsvp_closed"),
    ({"status": "cancelled"}, NOW, "salon_cancelled"),
])
def test_answers_only_in_the_rsvp_window(changes, at, code) -> None:
    with pytest.raises(SalonError) as refused:
        salons.move(salon(**changes), "invited", True, at)
    assert refused.value.code == code


@pytest.mark.parametrize(("changes", "at", "inviting", "reminder"), [
    ({}, NOW, True, False),
    ({}, NOW + 5 * DAY, False, False),
    ({"status": "cancelled"}, NOW, False, False),
    ({}, NOW + 9 * DAY, False, True),                    # the day before
    ({}, NOW + 9 * DAY - timedelta(seconds=1), False, False),
    ({"reminded": True}, NOW + 9 * DAY, False, False),
    ({}, NOW + 10 * DAY, False, False),                  # started
])
def test_when_invitations_and_reminders_are_due(changes, at, inviting, reminder) -> None:
    assert salons.inviting(salon(**changes), at) is inviting
    assert salons.reminder_due(salon(**changes), at) is reminder


@pytest.mark.parametrize(("tier", "expected"), [
    ("oto_fortune", True), ("private_banking", True), ("gold", False), (None, False)])
def test_eligible_by_tier(tier, expected) -> None:
    assert salons.eligible(salon(), tier) is expected
