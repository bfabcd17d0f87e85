"""The message log: new rows (`insert_messages`, unique per cause and template, with the
trace context they were planned in), the daily cap's counts, and the sender's claim (marked
'sending'), its claim of sends a crash interrupted (to ask the provider about), and its
record of what it sent (`message_attempts`)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg


async def cap_counts(conn: asyncpg.Connection, member_ids: Sequence[str],
                     from_day: date) -> dict[str, dict[date, int]]:
    """Counted messages per member and local day, from `from_day` on."""
    rows = await conn.fetch(
        "SELECT member_id, day, count(*) AS n FROM messages"
        " WHERE member_id = ANY($1::text[]) AND day >= $2"
        " AND state NOT IN ('capped', 'skipped', 'cancelled') GROUP BY member_id, day",
        list(member_ids), from_day)
    counts: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        counts[row["member_id"]][row["day"]] = row["n"]
    return counts


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: Any  # uuid.UUID
    cause_id: str
    template: str
    member_id: str
    category: str
    facts: dict
    state: str
    not_before: datetime
    day: date | None
    language: str | None
    body: dict | None
    reason: str | None
    created_at: datetime
    traceparent: str | None = None


_INSERT_MESSAGES = """
INSERT INTO messages (id, cause_id, template, member_id, category, facts, state, not_before,
                      day, language, body, reason, created_at, finished_at, traceparent)
SELECT id, cause_id, template, member_id, category, facts::jsonb, state, not_before, day,
       language, body::jsonb, reason, created_at,
       CASE WHEN state = 'queued' THEN NULL ELSE created_at END, traceparent
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::timestamptz[], $9::date[], $10::text[], $11::text[], $12::text[],
            $13::timestamptz[], $14::text[])
     AS m (id, cause_id, template, member_id, category, facts, state, not_before, day,
           language, body, reason, created_at, traceparent)
ORDER BY id
ON CONFLICT (cause_id, template) DO NOTHING
RETURNING id
"""


async def insert_messages(conn: asyncpg.Connection, rows: Sequence[MessageRow]) -> int:
    if not rows:
        return 0
    cols = list(zip(*[(r.id, r.cause_id, r.template, r.member_id, r.category,
                       json.dumps(r.facts, ensure_ascii=False), r.state, r.not_before, r.day,
                       r.language, _json(r.body), r.reason, r.created_at, r.traceparent)
                      for r in rows],
                    strict=True))
    inserted = await conn.fetch(_INSERT_MESSAGES, *map(list, cols))
    return len(inserted)


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


_CLAIM = """
WITH due AS (
    SELECT id, member_id, sent_to AS called FROM messages
    WHERE state = 'queued' AND not_before <= $1
    ORDER BY not_before LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE messages m SET state = 'sending', not_before = $3, sending_at = $1,
    lookups = CASE WHEN m.unsure_since IS NULL THEN 0 ELSE m.lookups + 1 END,
    sent_to = sha256(c.mobile_sealed)
FROM due LEFT JOIN contacts c USING (member_id)
WHERE m.id = due.id
RETURNING due.called IS NOT DISTINCT FROM sha256(c.mobile_sealed) AS same_number,
       m.id, m.cause_id, m.template, m.member_id, m.category, m.facts, m.body, m.language,
       m.attempts, m.sms_only, m.created_at, m.traceparent, m.unsure_since, m.lookups,
       c.personal_sealed, c.language AS contact_language, c.mobile_sealed,
       c.mobile_masked, c.openid_sealed, c.service_consent, c.marketing_consent
"""


async def claim_due(conn: asyncpg.Connection, now: datetime, limit: int,
                    lease_until: datetime) -> list[asyncpg.Record]:
    """Due messages, marked 'sending' until `lease_until` (other senders skip them); the
    caller commits the mark before any provider call. For one whose last SMS call's
    outcome is unsure, `lookups` counts the claims that ask the provider about it, and
    `same_number` says whether the contact's number is still the one that call went to."""
    return await conn.fetch(_CLAIM, now, limit, lease_until)


_INTERRUPTED = """
WITH stale AS (
    SELECT id, member_id FROM messages WHERE state = 'sending' AND not_before <= $1
    ORDER BY not_before LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE messages m SET not_before = $3, lookups = m.lookups + 1
FROM stale LEFT JOIN contacts c USING (member_id)
WHERE m.id = stale.id
RETURNING m.sent_to IS NOT DISTINCT FROM sha256(c.mobile_sealed) AS same_number,
       m.id, m.cause_id, m.template, m.member_id, m.category, m.attempts, m.sms_only,
       m.sending_at, m.lookups, m.traceparent, m.unsure_since, c.mobile_sealed, c.mobile_masked,
       c.openid_sealed, c.service_consent, c.marketing_consent
"""


async def claim_interrupted(conn: asyncpg.Connection, now: datetime, limit: int,
                            lease_until: datetime) -> list[asyncpg.Record]:
    """Messages left 'sending' past their lease (their sender died mid-call), leased again
    until `lease_until` for the provider to be asked about them (`lookups` counts these
    leases; `same_number`: the contact's number is still the one the call went to); like
    `claim_due`'s mark, the caller commits before asking."""
    return await conn.fetch(_INTERRUPTED, now, limit, lease_until)


@dataclass(frozen=True, slots=True)
class MessageUpdate:
    id: Any
    state: str
    not_before: datetime
    attempts: int
    sms_only: bool
    channel: str | None
    provider: str | None
    provider_message_id: str | None
    reason: str | None
    error_code: str | None
    language: str | None
    body: dict | None
    sent_at: datetime | None
    finished_at: datetime | None
    #: When the SMS call whose outcome is unsure was made (None: no such call pending).
    unsure_since: datetime | None = None


_UPDATE_MESSAGES = """
UPDATE messages m SET state = u.state, not_before = u.not_before, attempts = u.attempts,
    sms_only = u.sms_only, channel = coalesce(u.channel, m.channel),
    provider = coalesce(u.provider, m.provider),
    provider_message_id = coalesce(u.provider_message_id, m.provider_message_id),
    reason = u.reason, error_code = u.error_code,
    language = coalesce(u.language, m.language), body = coalesce(u.body::jsonb, m.body),
    sent_at = coalesce(u.sent_at, m.sent_at), finished_at = u.finished_at,
    unsure_since = u.unsure_since
FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::int[], $5::boolean[], $6::text[],
            $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
            $13::timestamptz[], $14::timestamptz[], $15::timestamptz[])
     AS u (id, state, not_before, attempts, sms_only, channel, provider, provider_message_id,
           reason, error_code, language, body, sent_at, finished_at, unsure_since)
WHERE m.id = u.id AND m.state = 'sending'
RETURNING m.id
"""

_ATTEMPT_COLUMNS = ("message_id", "attempt", "channel", "provider", "outcome", "code",
                    "provider_message_id", "at")


async def record_sends(conn: asyncpg.Connection, updates: Sequence[MessageUpdate],
                       attempts: Sequence[tuple]) -> set:
    """The provider calls made, and the messages' new states; returns the ids of the
    messages updated: those still 'sending' (one whose lease ran out may have been settled
    meanwhile by another sender)."""
    updates = sorted(updates, key=lambda u: u.id)
    updated = set()
    if updates:
        cols = list(zip(*[(u.id, u.state, u.not_before, u.attempts, u.sms_only, u.channel,
                           u.provider, u.provider_message_id, u.reason, u.error_code,
                           u.language, _json(u.body), u.sent_at, u.finished_at,
                           u.unsure_since)
                          for u in updates], strict=True))
        updated = {row[0] for row in await conn.fetch(_UPDATE_MESSAGES, *map(list, cols))}
    if attempts:
        await conn.copy_records_to_table("message_attempts", columns=_ATTEMPT_COLUMNS,
                                         records=attempts)
    return updated
