"""Batch handlers: events in, the rules, set-wise writes. They run inside the batch's one
transaction (runtime.consumer), after the inbox has dropped redelivered events; a message
row is also unique per (cause, template), so nothing is queued twice.

Nothing is sent here: handlers only write `messages` rows; the sender (sender.py) sends
what is due.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta

import asyncpg

from contracts.accounts.v1 import MemberClosed, MemberContactChanged, MemberContactErased
from contracts.points.v1 import PointsEarned
from runtime.consumer import Inbound, Outcome

from . import messages_sql as sql
from .clock import Clock
from .crypto import ContactCipher
from .domain.delivery import mask_mobile
from .domain.messages import intent_for
from .domain.schedule import Rules, summary_day
from .queueing import Queue

log = logging.getLogger(__name__)


class OnContacts:
    """The contact projection: the last contact record wins; an erasure deletes it all."""

    def __init__(self, cipher: ContactCipher, clock: Clock) -> None:
        self.cipher = cipher
        self.clock = clock

    async def __call__(self, conn: asyncpg.Connection, batch: list[Inbound]) -> Outcome:
        latest: dict[str, MemberContactChanged] = {}
        erased: dict[str, datetime] = {}
        for inbound in batch:  # one member's events come in order (keyed by member)
            event = inbound.event
            if isinstance(event, MemberContactErased):
                erased[event.member_id] = event.erased_at
            elif isinstance(event, MemberContactChanged):
                latest[event.member_id] = event
        rows = [self._row(e) for m, e in latest.items() if m not in erased]
        await sql.upsert_contacts(conn, rows)
        if erased:
            await sql.erase_members(conn, erased, self.clock.now())
            log.info("contact data erased for %d members", len(erased))
        return Outcome()

    def _row(self, e: MemberContactChanged) -> sql.ContactRow:
        return sql.ContactRow(
            member_id=e.member_id, family_name=e.family_name, gender=e.gender,
            birth_date=e.birth_date, mobile_sealed=self.cipher.seal(e.member_id, e.mobile),
            mobile_masked=mask_mobile(e.mobile),
            openid_sealed=self.cipher.seal(e.member_id, e.wechat_openid),
            language=e.preferred_language, service_consent=e.consents.service_messages,
            marketing_consent=e.consents.marketing, changed_at=e.changed_at)


class OnMemberEvents:
    """Tier changes, redemptions, expiring points become messages; points earned add to the
    day's summary; a closed member's contact data goes."""

    def __init__(self, queue: Queue, rules: Rules, clock: Clock) -> None:
        self.queue = queue
        self.rules = rules
        self.clock = clock

    async def __call__(self, conn: asyncpg.Connection, batch: list[Inbound]) -> Outcome:
        now = self.clock.now()
        intents, closed = [], {}
        earned: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
        for inbound in batch:
            event = inbound.event
            if isinstance(event, MemberClosed):
                closed[event.member_id] = event.closed_at
            elif isinstance(event, PointsEarned):
                if event.points > 0:
                    total = earned[(event.member_id, summary_day(event.earned_at, self.rules))]
                    total[0] += event.points
                    total[1] += 1
            elif intent := intent_for(event, inbound.envelope.id):
                intents.append(intent)
        if closed:
            await sql.erase_members(conn, closed, now)
        await self._add_to_summaries(conn, {k: (v[0], v[1]) for k, v in earned.items()})
        await self.queue.queue(conn, intents, now)
        return Outcome()

    async def _add_to_summaries(self, conn: asyncpg.Connection,
                                totals: dict[tuple[str, date], tuple[int, int]]) -> None:
        # Points for a day whose summary already went (a late event) join the next day's.
        while totals:
            late = await sql.add_points(conn, totals)
            totals = {(m, d + timedelta(days=1)): totals[(m, d)] for m, d in late}
