"""All the notifications service's SQL. Calls handle whole batches: one statement per table,
rows sorted by key so concurrent transactions lock in the same order."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

# ---------------------------------------------------------------------- contact projection


@dataclass(frozen=True, slots=True)
class ContactRow:
    member_id: str
    family_name: str
    gender: str
    birth_date: date
    mobile_sealed: bytes
    mobile_masked: str
    openid_sealed: bytes | None
    language: str
    service_consent: bool
    marketing_consent: bool
    changed_at: datetime


_UPSERT_CONTACTS = """
INSERT INTO contacts (member_id, family_name, gender, birth_date, mobile_sealed, mobile_masked,
                      openid_sealed, language, service_consent, marketing_consent, changed_at)
SELECT c.* FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::bytea[], $6::text[],
                       $7::bytea[], $8::text[], $9::boolean[], $10::boolean[],
                       $11::timestamptz[])
     AS c (member_id, family_name, gender, birth_date, mobile_sealed, mobile_masked,
           openid_sealed, language, service_consent, marketing_consent, changed_at)
WHERE NOT EXISTS (SELECT 1 FROM closed_members x WHERE x.member_id = c.member_id)
ORDER BY 1
ON CONFLICT (member_id) DO UPDATE SET
    family_name = excluded.family_name, gender = excluded.gender,
    birth_date = excluded.birth_date, mobile_sealed = excluded.mobile_sealed,
    mobile_masked = excluded.mobile_masked, openid_sealed = excluded.openid_sealed,
    language = excluded.language, service_consent = excluded.service_consent,
    marketing_consent = excluded.marketing_consent, changed_at = excluded.changed_at,
    updated_at = now()
WHERE contacts.changed_at <= excluded.changed_at
"""


async def upsert_contacts(conn: asyncpg.Connection, rows: Sequence[ContactRow]) -> None:
    rows = sorted(rows, key=lambda r: r.member_id)
    columns = list(zip(*[(r.member_id, r.family_name, r.gender, r.birth_date, r.mobile_sealed,
                          r.mobile_masked, r.openid_sealed, r.language, r.service_consent,
                          r.marketing_consent, r.changed_at) for r in rows], strict=True))
    if columns:
        await conn.execute(_UPSERT_CONTACTS, *map(list, columns))


async def erase_members(conn: asyncpg.Connection, closed: dict[str, datetime],
                        now: datetime) -> None:
    """Delete every copy of the members' contact data: the projection, and the rendered
    texts (they hold the name); queued messages are cancelled."""
    members = sorted(closed)
    await conn.execute(
        "INSERT INTO closed_members (member_id, closed_at)"
        " SELECT * FROM unnest($1::text[], $2::timestamptz[]) ORDER BY 1 ON CONFLICT DO NOTHING",
        members, [closed[m] for m in members])
    await conn.execute("DELETE FROM contacts WHERE member_id = ANY($1::text[])", members)
    await conn.execute(
        "UPDATE messages SET body = NULL,"
        " state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,"
        " reason = CASE WHEN state = 'queued' THEN 'member_closed' ELSE reason END,"
        " finished_at = CASE WHEN state = 'queued' THEN $2 ELSE finished_at END"
        " WHERE member_id = ANY($1::text[])", members, now)


async def contacts_for(conn: asyncpg.Connection,
                       member_ids: Sequence[str]) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT member_id, family_name, gender, language, service_consent, marketing_consent"
        " FROM contacts WHERE member_id = ANY($1::text[])", list(member_ids))
    return {row["member_id"]: row for row in rows}


async def closed_among(conn: asyncpg.Connection, member_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch("SELECT member_id FROM closed_members"
                            " WHERE member_id = ANY($1::text[])", list(member_ids))
    return {row[0] for row in rows}


# ---------------------------------------------------------------------- queueing messages


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


_INSERT_MESSAGES = """
INSERT INTO messages (id, cause_id, template, member_id, category, facts, state, not_before,
                      day, language, body, reason, created_at, finished_at)
SELECT id, cause_id, template, member_id, category, facts::jsonb, state, not_before, day,
       language, body::jsonb, reason, created_at,
       CASE WHEN state = 'queued' THEN NULL ELSE created_at END
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::timestamptz[], $9::date[], $10::text[], $11::text[], $12::text[],
            $13::timestamptz[])
     AS m (id, cause_id, template, member_id, category, facts, state, not_before, day,
           language, body, reason, created_at)
ORDER BY id
ON CONFLICT (cause_id, template) DO NOTHING
RETURNING id
"""


async def insert_messages(conn: asyncpg.Connection, rows: Sequence[MessageRow]) -> int:
    if not rows:
        return 0
    cols = list(zip(*[(r.id, r.cause_id, r.template, r.member_id, r.category,
                       json.dumps(r.facts, ensure_ascii=False), r.state, r.not_before, r.day,
                       r.language, _json(r.body), r.reason, r.created_at) for r in rows],
                    strict=True))
    inserted = await conn.fetch(_INSERT_MESSAGES, *map(list, cols))
    return len(inserted)


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------------- daily points summary

_ADD_POINTS = """
INSERT INTO points_summaries AS s (member_id, day, points, purchases)
SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[], $4::int[]) ORDER BY 1, 2
ON CONFLICT (member_id, day) DO UPDATE
SET points = s.points + excluded.points, purchases = s.purchases + excluded.purchases
WHERE NOT s.queued
RETURNING member_id, day
"""


async def add_points(conn: asyncpg.Connection,
                     totals: dict[tuple[str, date], tuple[int, int]]) -> list[tuple[str, date]]:
    """Add to the open summaries; returns the keys whose summary was already queued (their
    points belong to a later day's summary)."""
    keys = sorted(totals)
    if not keys:
        return []
    rows = await conn.fetch(_ADD_POINTS, [k[0] for k in keys], [k[1] for k in keys],
                            [totals[k][0] for k in keys], [totals[k][1] for k in keys])
    added = {(row["member_id"], row["day"]) for row in rows}
    return [k for k in keys if k not in added]


async def due_summaries(conn: asyncpg.Connection, last_day: date) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT member_id, day, points, purchases FROM points_summaries"
        " WHERE NOT queued AND day <= $1 ORDER BY member_id, day FOR UPDATE", last_day)


async def mark_summaries_queued(conn: asyncpg.Connection,
                                keys: Sequence[tuple[str, date]]) -> None:
    await conn.execute(
        "UPDATE points_summaries s SET queued = true FROM unnest($1::text[], $2::date[])"
        " AS k (member_id, day) WHERE s.member_id = k.member_id AND s.day = k.day",
        [k[0] for k in keys], [k[1] for k in keys])


async def birthday_members(conn: asyncpg.Connection, today: date,
                           with_feb_29: bool) -> list[str]:
    """Members with marketing consent born on `today` (and on 29 February when
    `with_feb_29`), not yet greeted this year."""
    rows = await conn.fetch(
        "SELECT c.member_id FROM contacts c WHERE c.marketing_consent"
        " AND ((extract(month FROM c.birth_date) = $1 AND extract(day FROM c.birth_date) = $2)"
        "      OR ($3 AND extract(month FROM c.birth_date) = 2"
        "          AND extract(day FROM c.birth_date) = 29))"
        " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.template = 'birthday'"
        "                 AND m.cause_id = 'birthday:' || c.member_id || ':' || $4)"
        " ORDER BY c.member_id", today.month, today.day, with_feb_29, str(today.year))
    return [row[0] for row in rows]


# ---------------------------------------------------------------------- the sender

_CLAIM = """
SELECT m.id, m.cause_id, m.template, m.member_id, m.category, m.facts, m.body, m.language,
       m.attempts, m.sms_only, m.created_at,
       c.family_name, c.gender, c.language AS contact_language, c.mobile_sealed,
       c.mobile_masked, c.openid_sealed, c.service_consent, c.marketing_consent
FROM messages m LEFT JOIN contacts c USING (member_id)
WHERE m.state = 'queued' AND m.not_before <= $1
ORDER BY m.not_before
LIMIT $2
FOR UPDATE OF m SKIP LOCKED
"""


async def claim_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Due messages, locked for this transaction; other senders skip them."""
    return await conn.fetch(_CLAIM, now, limit)


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


_UPDATE_MESSAGES = """
UPDATE messages m SET state = u.state, not_before = u.not_before, attempts = u.attempts,
    sms_only = u.sms_only, channel = coalesce(u.channel, m.channel),
    provider = coalesce(u.provider, m.provider),
    provider_message_id = coalesce(u.provider_message_id, m.provider_message_id),
    reason = u.reason, error_code = u.error_code,
    language = coalesce(u.language, m.language), body = coalesce(u.body::jsonb, m.body),
    sent_at = coalesce(u.sent_at, m.sent_at), finished_at = u.finished_at
FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::int[], $5::boolean[], $6::text[],
            $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
            $13::timestamptz[], $14::timestamptz[])
     AS u (id, state, not_before, attempts, sms_only, channel, provider, provider_message_id,
           reason, error_code, language, body, sent_at, finished_at)
WHERE m.id = u.id
"""

_ATTEMPT_COLUMNS = ("message_id", "attempt", "channel", "provider", "outcome", "code",
                    "provider_message_id", "at")


async def record_sends(conn: asyncpg.Connection, updates: Sequence[MessageUpdate],
                       attempts: Sequence[tuple]) -> None:
    updates = sorted(updates, key=lambda u: u.id)
    if updates:
        cols = list(zip(*[(u.id, u.state, u.not_before, u.attempts, u.sms_only, u.channel,
                           u.provider, u.provider_message_id, u.reason, u.error_code,
                           u.language, _json(u.body), u.sent_at, u.finished_at)
                          for u in updates], strict=True))
        await conn.execute(_UPDATE_MESSAGES, *map(list, cols))
    if attempts:
        await conn.copy_records_to_table("message_attempts", columns=_ATTEMPT_COLUMNS,
                                         records=attempts)


# ---------------------------------------------------------------------- delivery receipts

_RECEIPT_TARGETS = """
SELECT id, member_id, channel, provider, provider_message_id, state FROM messages
WHERE provider_message_id = ANY($1::text[]) OR id = ANY($2::uuid[])
ORDER BY id FOR UPDATE
"""


async def receipt_targets(conn: asyncpg.Connection, provider_ids: Sequence[str],
                          message_ids: Sequence[str]) -> list[asyncpg.Record]:
    return await conn.fetch(_RECEIPT_TARGETS, list(provider_ids), list(message_ids))


async def record_receipts(conn: asyncpg.Connection, receipts: Sequence[tuple],
                          outcomes: Sequence[tuple]) -> None:
    """`receipts`: (provider, provider_message_id, message_id | None, delivered, code);
    `outcomes`: (message_id, state, reason, error_code, finished_at) for messages whose
    state the receipts settle."""
    if receipts:
        await conn.copy_records_to_table(
            "delivery_receipts", records=receipts,
            columns=("provider", "provider_message_id", "message_id", "delivered", "code"))
    if outcomes:
        outcomes = sorted(outcomes)
        cols = list(zip(*outcomes, strict=True))
        await conn.execute(
            "UPDATE messages m SET state = u.state, reason = u.reason,"
            " error_code = u.error_code, finished_at = u.finished_at"
            " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])"
            " AS u (id, state, reason, error_code, finished_at) WHERE m.id = u.id",
            *map(list, cols))
