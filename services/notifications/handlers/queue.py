"""Intents -> rows in the message log, for the event handlers and the scheduled job alike:
consent, closure, quiet hours and the daily cap place each message (domain/messages.py);
its text is rendered now if the member's contact data is known, else when it is sent. Each
row keeps the trace context it was planned in (its cause's, else the current span's), which
the sender's provider calls join."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from runtime.personal_data import Sealer
from runtime.telemetry import current_traceparent
from runtime.unit_of_work import UnitOfWork, event_id

from .. import metrics
from ..domain.messages import Intent, place, render_body
from ..domain.schedule import Rules, local_day
from ..domain.templates import Template
from ..personal import open_personal
from ..sql import contacts as contacts_sql
from ..sql import messages as messages_sql


class Queue:
    def __init__(self, templates: Mapping[str, Template], rules: Rules, sign_name: str,
                 sealer: Sealer) -> None:
        self.templates = templates
        self.rules = rules
        self.sign_name = sign_name
        self.sealer = sealer  # opens the name and gender of the members written to

    async def queue(self, uow: UnitOfWork, intents: Sequence[Intent], now: datetime,
                    traces: Mapping[str, str | None] | None = None) -> int:
        """Write the intents' messages (those not written before); returns how many.
        `traces`: the trace context (traceparent) of each cause id."""
        if not intents:
            return 0
        conn = uow.conn
        members = sorted({i.member_id for i in intents})
        contacts = await contacts_sql.contacts_for(conn, members)
        closed = await contacts_sql.closed_among(conn, members)
        counted = await messages_sql.cap_counts(conn, members, local_day(now, self.rules))
        current = current_traceparent()
        rows = [self._row(uow.source, i, contacts.get(i.member_id), i.member_id in closed,
                          counted[i.member_id], now, (traces or {}).get(i.cause_id) or current)
                for i in intents]
        return await messages_sql.insert_messages(conn, rows)

    def _row(self, source: str, intent: Intent, contact: Mapping | None, closed: bool,
             counted: dict, now: datetime, traceparent: str | None
             ) -> messages_sql.MessageRow:
        template = self.templates[intent.template]
        placed = place(template.category, contact, closed, counted, now, self.rules,
                       template.waits_for_morning)
        metrics.placed(intent.template, placed.state, placed.not_before > now)
        language = body = None
        if contact is not None and placed.state == "queued":
            language = contact["language"]
            personal = open_personal(self.sealer, intent.member_id, contact["personal_sealed"])
            body = render_body(template, intent.facts, personal.family_name, personal.gender,
                               language, self.sign_name)
        return messages_sql.MessageRow(
            # One message per (cause, template): the same id however often the cause comes.
            id=uuid.UUID(event_id(source, intent.cause_id, intent.template)),
            cause_id=intent.cause_id, template=intent.template, member_id=intent.member_id,
            category=template.category, facts=intent.facts, state=placed.state,
            not_before=placed.not_before, day=placed.day, language=language, body=body,
            reason=placed.reason, created_at=now, traceparent=traceparent)
