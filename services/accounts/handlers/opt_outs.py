"""loyalty.notifications.v1 notification.opt-out-received -> the member's marketing consent
withdrawn (domain/members.py `on_marketing_withdrawn`), recorded in consent_changes with
the event's source and id and how it came (`via`: sms_reply, wechat_unsubscribe), and
announced as accounts announces every consent change: member.contact-changed on
loyalty.member-contacts.v1, the contact data opened from its sealed columns. A repeated
opt-out, or one for a closed or unknown member, changes nothing."""

from __future__ import annotations

import logging
from datetime import datetime

from contracts.accounts.v1 import ContactConsents, MemberContactChanged
from contracts.notifications.v1 import NotificationOptOutReceived
from runtime.consumer import Inbound
from runtime.personal_data import Sealer
from runtime.unit_of_work import UnitOfWork

from ..domain.members import on_marketing_withdrawn
from ..personal import open_personal, sealing_context
from ..sql import members as sql
from ..sql.members import ConsentChange

log = logging.getLogger(__name__)


class OnOptOuts:
    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        opt_outs = [i for i in batch if isinstance(i.event, NotificationOptOutReceived)]
        ids = sorted({i.event.member_id for i in opt_outs})
        await sql.lock_members(uow.conn, ids)
        known = await sql.members(uow.conn, ids, self.sealer)
        withdrawn: dict[str, datetime] = {}
        consents: list[ConsentChange] = []
        for inbound in opt_outs:
            event: NotificationOptOutReceived = inbound.event
            step = on_marketing_withdrawn(known.get(event.member_id), event.member_id,
                                          event.received_at)
            if step.action == "ignore" or step.member is None:
                log.info("opt-out %s for member %s ignored: %s", inbound.envelope.id,
                         event.member_id, step.why_ignored)
                continue
            known[event.member_id] = step.member
            withdrawn[event.member_id] = event.received_at
            consents += [ConsentChange(event.member_id, name, granted, event.received_at,
                                       inbound.envelope.source, inbound.envelope.id, event.via)
                         for name, granted in step.consent_changes]
            if step.contact_changed:
                uow.emit(await self._contact(uow, event.member_id, event.received_at),
                         inbound)
        await sql.withdraw_marketing(uow.conn, withdrawn)
        await sql.record_consent_changes(uow.conn, consents)

    async def _contact(self, uow: UnitOfWork, member_id: str,
                       at: datetime) -> MemberContactChanged:
        """The member's contact data as stored, with the marketing consent withdrawn."""
        row = await sql.member_profile(uow.conn, member_id)
        assert row is not None
        personal = open_personal(self.sealer, member_id, row)
        assert personal is not None
        return MemberContactChanged(
            member_id=member_id, family_name=personal.family_name, gender=personal.gender,
            birth_date=personal.birth_date,
            mobile=self.sealer.open(sealing_context(member_id, "mobile"), row["mobile_enc"]),
            wechat_openid=(self.sealer.open(sealing_context(member_id, "wechat_openid"),
                                            row["openid_enc"]) if row["openid_enc"] else None),
            preferred_language=row["preferred_language"],
            consents=ContactConsents(service_messages=row["service_messages"],
                                     marketing=False),
            changed_at=at)
