"""corebanking.customers.v1 -> members, consents; member.enrolled / updated / closed on
loyalty.members.v1, member.contact-changed / contact-erased (then a tombstone of the member:
the topic is compacted) on loyalty.member-contacts.v1, and member.tier-changed when
snapshots were there before the enrolment (decided from all of them, handlers/timelines.py).

The batch's members are locked first (sql.members.lock_members): a snapshot and the
enrolment it must be decided with can otherwise be processed at the same moment, each blind
to the other's uncommitted row. Every personal field is sealed at rest (personal.py); mobile
numbers and openids are found by their keyed hash; none is ever logged.
"""

from __future__ import annotations

import logging
from datetime import datetime

from contracts.accounts.v1 import MemberContactErased
from contracts.corebanking.v1 import CustomerClosed, CustomerOnboarded, CustomerUpdated
from contracts.topics import MEMBER_CONTACTS_V1
from runtime.consumer import Inbound
from runtime.personal_data import Sealer, lookup_hash
from runtime.unit_of_work import UnitOfWork

from ..domain.members import Member, Profile, Step, on_close, on_profile
from ..domain.programme import TierProgramme
from ..personal import Personal, seal_personal, sealing_context
from ..sql import members as sql
from ..sql import overrides as overrides_sql
from ..sql.members import ConsentChange, MemberRow
from . import Clock, utc_now
from .events import member_events
from .timelines import Retiering

log = logging.getLogger(__name__)
__all__ = ["OnCustomerFile", "sealing_context"]


class OnCustomerFile:
    """The customer file: enrols, updates and closes members; announces the lifecycle on
    loyalty.members.v1 and the contact data on loyalty.member-contacts.v1."""

    def __init__(self, programme: TierProgramme, sealer: Sealer, hash_key: bytes,
                 clock: Clock = utc_now):
        self.programme = programme
        self.sealer = sealer
        self.hash_key = hash_key
        self.clock = clock

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        ids = sorted({i.event.customer_id for i in batch})
        await sql.lock_members(uow.conn, ids)
        known = await sql.members(uow.conn, ids, self.sealer)
        rows: dict[str, MemberRow] = {}
        consents: list[ConsentChange] = []
        enrolments: dict[str, Inbound] = {}
        closed: set[str] = set()

        for inbound in batch:  # in order: one member's events build on each other
            event, member_id = inbound.event, inbound.event.customer_id
            at = _time_of(event)
            step = self._decide(known.get(member_id), event, at)
            if step.action == "ignore":
                log.info("customer event %s for member %s ignored: %s",
                         inbound.envelope.id, member_id, step.why_ignored)
                continue
            known[member_id] = step.member
            rows[member_id] = self._row(step, event, at, rows.get(member_id))
            consents += [ConsentChange(member_id, name, granted, at, inbound.envelope.source,
                                       inbound.envelope.id)
                         for name, granted in step.consent_changes]
            if step.action == "close":
                closed.add(member_id)  # enrolled in this batch: its tiers decided still
            elif step.action == "enrol":
                enrolments[member_id] = inbound
            for out in member_events(step, event, at):
                emitted = uow.emit(out, inbound)
                if isinstance(out, MemberContactErased):  # compaction drops the contact data
                    uow.tombstone(MEMBER_CONTACTS_V1, member_id, after=emitted)

        await sql.save_members(uow.conn, list(rows.values()))
        await sql.record_consent_changes(uow.conn, consents)
        if closed:
            await overrides_sql.drop_overrides_of_closed(uow.conn, sorted(closed))
        await self._enrol_tiers(uow, enrolments)

    def _decide(self, member: Member | None, event, at: datetime) -> Step:
        if isinstance(event, CustomerClosed):
            return on_close(member, event.customer_id, at)
        return on_profile(member, event.customer_id, self._profile(event), at)

    def _row(self, step: Step, event, at: datetime, earlier: MemberRow | None) -> MemberRow:
        """The member as written: personal data sealed, none left once closed."""
        member_id = step.member.member_id
        enrolled_at = at if step.action == "enrol" else earlier and earlier.enrolled_at
        if step.action == "close":
            return MemberRow(step.member, None, None, None, enrolled_at, at)
        openid = event.wechat_openid
        return MemberRow(
            step.member, seal_personal(self.sealer, member_id, Personal.of(event)),
            self.sealer.seal(sealing_context(member_id, "mobile"), event.mobile),
            openid and self.sealer.seal(sealing_context(member_id, "wechat_openid"), openid),
            enrolled_at, None)

    async def _enrol_tiers(self, uow: UnitOfWork, enrolments: dict[str, Inbound]) -> None:
        """New members start at Standard; snapshots that arrived before them decide their
        tiers at once, every month in calendar order (handlers/timelines.py)."""
        if not enrolments:
            return
        retiering = await Retiering.load(uow, self.programme, self.clock(), sorted(enrolments),
                                         closed=True)
        for member_id in sorted(retiering.members):
            retiering.decide(member_id, enrolments[member_id])
        await retiering.save()

    def _profile(self, customer: CustomerOnboarded | CustomerUpdated) -> Profile:
        return Profile(
            family_name=customer.family_name, given_name=customer.given_name,
            gender=customer.gender, birth_date=customer.birth_date,
            preferred_language=customer.preferred_language,
            mobile_hash=lookup_hash(self.hash_key, customer.mobile),
            openid_hash=(lookup_hash(self.hash_key, customer.wechat_openid)
                         if customer.wechat_openid else None),
            service_messages=customer.consents.service_messages,
            marketing=customer.consents.marketing)


def _time_of(event: CustomerOnboarded | CustomerUpdated | CustomerClosed) -> datetime:
    if isinstance(event, CustomerClosed):
        return event.closed_at
    return event.onboarded_at if isinstance(event, CustomerOnboarded) else event.updated_at
