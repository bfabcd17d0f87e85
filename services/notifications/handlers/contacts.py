"""loyalty.member-contacts.v1 -> the contact projection: the last contact record wins; the
family name, gender and birth date sealed together, the phone number and openid each, the
number also kept masked and the birthday as month and day, and both as keyed hashes (a reply
finds its member by them); an erasure deletes it all."""

from __future__ import annotations

import logging
from datetime import datetime

from contracts.accounts.v1 import MemberContactChanged, MemberContactErased
from runtime.consumer import Inbound
from runtime.personal_data import Sealer, lookup_hash, mask_mobile
from runtime.unit_of_work import UnitOfWork

from ..clock import Clock
from ..personal import Personal, month_day, seal_personal
from ..sql import contacts as sql

log = logging.getLogger(__name__)


class OnContacts:
    """The contact projection: the last contact record wins; an erasure deletes it all."""

    def __init__(self, sealer: Sealer, clock: Clock, hash_key: bytes) -> None:
        self.sealer = sealer
        self.clock = clock
        self.hash_key = hash_key

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        latest: dict[str, MemberContactChanged] = {}
        erased: dict[str, datetime] = {}
        for inbound in batch:  # one member's events come in order (keyed by member)
            event = inbound.event
            if isinstance(event, MemberContactErased):
                erased[event.member_id] = event.erased_at
            elif isinstance(event, MemberContactChanged):
                latest[event.member_id] = event
        rows = [self._row(e) for m, e in latest.items() if m not in erased]
        await sql.upsert_contacts(uow.conn, rows)
        if erased:
            await sql.erase_members(uow.conn, erased, self.clock.now())
            log.info("contact data erased for %d members", len(erased))

    def _row(self, e: MemberContactChanged) -> sql.ContactRow:
        member = e.member_id
        return sql.ContactRow(
            member_id=member,
            personal_sealed=seal_personal(self.sealer, member,
                                          Personal(e.family_name, e.gender, e.birth_date)),
            birthday_mmdd=month_day(e.birth_date),
            mobile_sealed=self.sealer.seal(f"{member}:mobile", e.mobile),
            mobile_masked=mask_mobile(e.mobile),
            openid_sealed=(self.sealer.seal(f"{member}:openid", e.wechat_openid)
                           if e.wechat_openid is not None else None),
            language=e.preferred_language, service_consent=e.consents.service_messages,
            marketing_consent=e.consents.marketing, changed_at=e.changed_at,
            mobile_hash=lookup_hash(self.hash_key, e.mobile),
            openid_hash=(lookup_hash(self.hash_key, e.wechat_openid)
                         if e.wechat_openid is not None else None))
