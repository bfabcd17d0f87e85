"""From intents to rows in the message log: consent, quiet hours and the daily cap decide
the state and time (domain/schedule.py); the text is rendered now if the member's contact
data is known, else when the message is sent."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from . import messages_sql as sql
from .domain.messages import Intent, consent_missing, values_for
from .domain.schedule import Rules, local_day, plan
from .domain.templates import Recipient, Template, render

MESSAGE_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:loyalty:notifications:messages")


def message_id(cause_id: str, template: str) -> uuid.UUID:
    """One message per (cause, template): the same id however often the cause arrives."""
    return uuid.uuid5(MESSAGE_IDS, f"{cause_id}:{template}")


def render_body(template: Template, facts: Mapping[str, Any], family_name: str, gender: str,
                language: str, sign_name: str) -> dict[str, Any]:
    recipient = Recipient(family_name=family_name, gender=gender,  # type: ignore[arg-type]
                          language=language)  # type: ignore[arg-type]
    rendered = render(template, recipient, values_for(dict(facts), recipient.language),
                      sign_name)
    return {"sms_text": rendered.sms_text, "sms_params": rendered.sms_params,
            "wechat_fields": rendered.wechat_fields}


class Queue:
    def __init__(self, templates: Mapping[str, Template], rules: Rules, sign_name: str) -> None:
        self.templates = templates
        self.rules = rules
        self.sign_name = sign_name

    async def queue(self, conn: asyncpg.Connection, intents: Sequence[Intent],
                    now: datetime) -> int:
        """Write the intents' messages (those not written before); returns how many."""
        if not intents:
            return 0
        members = sorted({i.member_id for i in intents})
        contacts = await sql.contacts_for(conn, members)
        closed = await sql.closed_among(conn, members)
        counted = await sql.cap_counts(conn, members, local_day(now, self.rules))
        rows = [self._row(i, contacts.get(i.member_id), i.member_id in closed,
                          counted[i.member_id], now) for i in intents]
        return await sql.insert_messages(conn, rows)

    def _row(self, intent: Intent, contact: Mapping | None, closed: bool,
             counted: dict, now: datetime) -> sql.MessageRow:
        template = self.templates[intent.template]
        state, reason, not_before, day = "queued", None, now, None
        if closed:
            state, reason = "skipped", "member_closed"
        elif consent_missing(template.category, contact):
            state, reason = "skipped", "no_consent"
        else:
            slot = plan(template.category, now, counted, self.rules)
            not_before, day = slot.not_before, slot.day
            if slot.state == "capped":
                state, reason = "capped", "daily_cap"
        language = body = None
        if contact is not None and state == "queued":
            language = contact["language"]
            body = render_body(template, intent.facts, contact["family_name"],
                               contact["gender"], language, self.sign_name)
        return sql.MessageRow(
            id=message_id(intent.cause_id, intent.template), cause_id=intent.cause_id,
            template=intent.template, member_id=intent.member_id, category=template.category,
            facts=intent.facts, state=state, not_before=not_before, day=day,
            language=language, body=body, reason=reason, created_at=now)
