"""Member events ("salons"): staff changes, invitations, answers, reminders, check-ins.

Each is one transaction: load (the salon's row locked where seats move), decide
(domain/salons.py), save, emit through the outbox. Per-member events have deterministic
ids (salon, member, what), so an invitation or a reminder is never published twice; the
guests' rows say who was invited, so a job that runs again invites nobody twice."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg

from contracts.rewards.v1 import (
    SalonAttended,
    SalonChanged,
    SalonInvited,
    SalonReminderDue,
    SalonRsvpChanged,
)
from runtime.unit_of_work import UnitOfWork, unit_of_work

from ..domain import salons as domain
from ..domain.codes import new_code, normalise
from ..domain.salons import Salon, SalonError
from ..sql import members as members_sql
from ..sql import salons as sql

log = logging.getLogger(__name__)
#: Invitations per transaction (the job repeats until none are left).
INVITE_BATCH = 500


class Salons:
    def __init__(self, *, service: str, pool: asyncpg.Pool) -> None:
        self.service = service
        self.pool = pool

    # ------------------------------------------------------------------ staff

    async def schedule(self, salon: Salon, staff_id: str, reason: str | None) -> Salon:
        return await self._record(salon.id, "scheduled", staff_id, reason,
                                  lambda existing, now: domain.schedule(existing, salon, now))

    async def change(self, salon_id: str, fields: dict[str, Any], staff_id: str,
                     reason: str | None) -> Salon:
        return await self._record(salon_id, "changed", staff_id, reason,
                                  lambda existing, _now: domain.change(existing, salon_id,
                                                                       fields))

    async def cancel(self, salon_id: str, staff_id: str, reason: str | None) -> Salon:
        """Cancelled; each guest who accepted or was waiting hears it."""
        return await self._record(salon_id, "cancelled", staff_id, reason,
                                  lambda existing, _now: domain.cancel(existing, salon_id))

    async def _record(self, salon_id: str, change: str, staff_id: str, reason: str | None,
                      decide) -> Salon:
        now = datetime.now(UTC)
        async with unit_of_work(self.pool, service=self.service) as uow:
            before = await sql.salon(uow.conn, salon_id, lock=True)
            after = decide(before, now)
            await sql.save(uow.conn, after, before, change, staff_id, reason, now)
            uow.emit(_changed(after, change, now), key=("salon", after.id, after.version))
            if change == "cancelled":
                for member_id in await sql.guests(uow.conn, salon_id,
                                                  ("accepted", "waitlisted")):
                    _rsvp(uow, after, member_id, "cancelled", now, key="cancelled")
        return after

    async def check_in(self, salon_id: str, code: str) -> str:
        """The member checked in with their code, once (then 409 code_used)."""
        now = datetime.now(UTC)
        normal = normalise(code)
        async with unit_of_work(self.pool, service=self.service) as uow:
            salon = await sql.salon(uow.conn, salon_id)
            if salon is None:
                raise SalonError(404, "not_found", f"no salon {salon_id}")
            guest = normal and await sql.check_in(uow.conn, salon_id, normal, now)
            if not guest:
                if normal and await sql.code_used(uow.conn, salon_id, normal):
                    raise SalonError(409, "code_used", "this code was used already")
                raise SalonError(404, "unknown_code", "no such check-in code")
            uow.emit(SalonAttended(member_id=guest["member_id"], salon_id=salon_id,
                                   category=salon.category, city=salon.city,
                                   checked_in_at=now),
                     key=("salon-attended", salon_id, guest["member_id"]))
        return guest["member_id"]

    # ------------------------------------------------------------------ jobs

    async def invite(self, now: datetime | None = None) -> int:
        """Invite the eligible members of every salon in its invitation window, each once."""
        now, invited = now or datetime.now(UTC), 0
        async with self.pool.acquire() as conn:
            salons = await sql.inviting(conn, now)
        for salon in salons:
            while True:
                async with unit_of_work(self.pool, service=self.service) as uow:
                    added = await sql.invite(uow.conn, salon, now, INVITE_BATCH)
                    for member_id in added:
                        uow.emit(SalonInvited(**_guest_facts(salon, member_id),
                                              category=salon.category,
                                              rsvp_until=salon.rsvp_until, invited_at=now),
                                 key=("salon-invited", salon.id, member_id))
                invited += len(added)
                if len(added) < INVITE_BATCH:
                    break
        if invited:
            log.info("salons: %d members invited", invited)
        return invited

    async def remind(self, now: datetime | None = None) -> int:
        """The day before a salon, a reminder to each guest who accepted."""
        now, reminded = now or datetime.now(UTC), 0
        async with unit_of_work(self.pool, service=self.service) as uow:
            for salon in await sql.to_remind(uow.conn, now):
                for member_id in await sql.guests(uow.conn, salon.id, ("accepted",)):
                    uow.emit(SalonReminderDue(**_guest_facts(salon, member_id), due_at=now),
                             key=("salon-reminder", salon.id, member_id))
                    reminded += 1
                await sql.mark_reminded(uow.conn, salon.id)
        return reminded

    # ------------------------------------------------------------------ members

    async def answer(self, salon_id: str, member_id: str, accept: bool) -> dict[str, Any]:
        """Accept (a seat, else the waitlist) or decline (a seat given up goes to the
        first waiting). The guest's place afterwards."""
        now = datetime.now(UTC)
        async with unit_of_work(self.pool, service=self.service) as uow:
            conn = uow.conn
            salon = await sql.salon(conn, salon_id)
            guest = await sql.guest(conn, salon_id, member_id, lock=True)
            member = await members_sql.member(conn, member_id)
            if salon is None or member is None or member["closed"] or (
                    guest is None and not domain.eligible(salon, member["tier"])):
                raise SalonError(404, "not_found", f"no salon {salon_id}")
            status = guest["status"] if guest else "invited"
            step = domain.move(salon, status, accept, now)
            if guest is None:
                await sql.add_guest(conn, salon_id, member_id, now)
            if step == "seat_or_wait":
                if await sql.take_seat(conn, salon_id):
                    await sql.place(conn, salon_id, member_id, "accepted", now, _fresh_code())
                    _rsvp(uow, salon, member_id, "accepted", now)
                else:
                    await sql.place(conn, salon_id, member_id, "waitlisted", now)
                    _rsvp(uow, salon, member_id, "waitlisted", now)
            elif step == "decline":
                await sql.place(conn, salon_id, member_id, "declined", now)
                _rsvp(uow, salon, member_id, "declined", now)
            elif step == "free_seat":
                await sql.salon(conn, salon_id, lock=True)  # orders it with acceptances
                await sql.place(conn, salon_id, member_id, "declined", now)
                _rsvp(uow, salon, member_id, "declined", now)
                promoted = await sql.first_waiting(conn, salon_id)
                if promoted is None:
                    await sql.free_seat(conn, salon_id)
                else:  # the seat passes on: the count stays
                    await sql.place(conn, salon_id, promoted, "accepted", now, _fresh_code())
                    _rsvp(uow, salon, promoted, "accepted", now, promoted=True)
            place = await sql.guest(conn, salon_id, member_id)
        return {"salon_id": salon_id, "status": place["status"],
                "check_in_code": _shown(place["check_in_code"])}

    async def of_member(self, member_id: str) -> list[dict[str, Any]]:
        member = await members_sql.member(self.pool, member_id)
        if member is None or member["closed"]:
            return []
        rows = await sql.of_member(self.pool, member_id, member["tier"], datetime.now(UTC))
        return [{"id": r["id"], "title": r["title"], "title_en": r["title_en"],
                 "category": r["category"], "city": r["city"], "venue": r["venue"],
                 "starts_at": r["starts_at"], "rsvp_until": r["rsvp_until"],
                 "seats_left": r["capacity"] - r["accepted"],
                 "status": r["guest_status"] or "not_invited",
                 "check_in_code": _shown(r["check_in_code"]),
                 "checked_in": r["checked_in_at"] is not None} for r in rows]


def _fresh_code() -> str:
    """A check-in code as stored: normalised (what `normalise` makes of what is typed)."""
    return new_code().replace("-", "")


def _shown(code: str | None) -> str | None:
    """As the member reads it: XXXXX-XXXXX."""
    return code and f"{code[:5]}-{code[5:]}"


def _guest_facts(salon: Salon, member_id: str) -> dict[str, Any]:
    return {"member_id": member_id, "salon_id": salon.id, "title": salon.title,
            "title_en": salon.title_en, "city": salon.city, "venue": salon.venue,
            "starts_at": salon.starts_at}


def _rsvp(uow: UnitOfWork, salon: Salon, member_id: str, status: str, now: datetime, *,
          promoted: bool = False, key: str | None = None) -> None:
    uow.emit(SalonRsvpChanged(**_guest_facts(salon, member_id), status=status,
                              promoted=promoted, changed_at=now),
             key=("salon-rsvp", salon.id, member_id, key or now.isoformat(), status))


def _changed(salon: Salon, change: str, now: datetime) -> SalonChanged:
    return SalonChanged(
        salon_id=salon.id, change=change, version=salon.version, status=salon.status,
        title=salon.title, category=salon.category, city=salon.city, venue=salon.venue,
        starts_at=salon.starts_at, capacity=salon.capacity,
        eligible_tiers=list(salon.eligible_tiers), invite_from=salon.invite_from,
        rsvp_until=salon.rsvp_until, changed_at=now)
