"""The catalogue in the database, its truth: offers and lounges, the catalogue's version
(one row; a change locks it, so versions are given in commit order), the audit of every
change, and the demo files' seeding on the first start."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

import asyncpg

from ..domain.catalogue import Entry, Kind, LoungeEntry, OfferEntry, Recorded, as_json

_OFFER_COLUMNS = ("id, partner_id, merchant, industry, title, points_price, discount_percent,"
                  " valid_from, valid_until, eligible_tiers, limit_per_period, period, cities,"
                  " status, version")
_LOUNGE_COLUMNS = ("id, airport_code, city, terminal, name, operator_id, operator, valid_from,"
                   " valid_until, status, version")

_SAVE_OFFER = f"""
INSERT INTO offers ({_OFFER_COLUMNS}, changed_at, changed_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
ON CONFLICT (id) DO UPDATE SET
    partner_id = excluded.partner_id, merchant = excluded.merchant,
    industry = excluded.industry, title = excluded.title,
    points_price = excluded.points_price, discount_percent = excluded.discount_percent,
    valid_from = excluded.valid_from, valid_until = excluded.valid_until,
    eligible_tiers = excluded.eligible_tiers, limit_per_period = excluded.limit_per_period,
    period = excluded.period, cities = excluded.cities, status = excluded.status,
    version = excluded.version, changed_at = excluded.changed_at,
    changed_by = excluded.changed_by
"""

_SAVE_LOUNGE = f"""
INSERT INTO lounges ({_LOUNGE_COLUMNS}, changed_at, changed_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (id) DO UPDATE SET
    airport_code = excluded.airport_code, city = excluded.city, terminal = excluded.terminal,
    name = excluded.name, operator_id = excluded.operator_id, operator = excluded.operator,
    valid_from = excluded.valid_from, valid_until = excluded.valid_until,
    status = excluded.status, version = excluded.version, changed_at = excluded.changed_at,
    changed_by = excluded.changed_by
"""


def offer_entry(r: asyncpg.Record | dict) -> OfferEntry:
    return OfferEntry(
        id=r["id"], partner_id=r["partner_id"], merchant=r["merchant"], industry=r["industry"],
        title=r["title"], points_price=r["points_price"], discount_percent=r["discount_percent"],
        valid_from=r["valid_from"], valid_until=r["valid_until"],
        eligible_tiers=tuple(r["eligible_tiers"]), limit_per_period=r["limit_per_period"],
        period=r["period"], cities=tuple(r["cities"]), status=r["status"], version=r["version"])


def lounge_entry(r: asyncpg.Record | dict) -> LoungeEntry:
    return LoungeEntry(
        id=r["id"], airport_code=r["airport_code"], city=r["city"], terminal=r["terminal"],
        name=r["name"], operator_id=r["operator_id"], operator=r["operator"],
        valid_from=r["valid_from"], valid_until=r["valid_until"], status=r["status"],
        version=r["version"])


def _offer_values(o: OfferEntry) -> tuple:
    return (o.id, o.partner_id, o.merchant, o.industry, o.title, o.points_price,
            o.discount_percent, o.valid_from, o.valid_until, list(o.eligible_tiers),
            o.limit_per_period, o.period, list(o.cities), o.status, o.version)


def _lounge_values(x: LoungeEntry) -> tuple:
    return (x.id, x.airport_code, x.city, x.terminal, x.name, x.operator_id, x.operator,
            x.valid_from, x.valid_until, x.status, x.version)


# ---------------------------------------------------------------------- versions and reads

async def next_version(conn: asyncpg.Connection) -> int:
    """The version of the change this transaction makes; holds the catalogue's row lock
    until it commits, so changes commit in version order."""
    return await conn.fetchval("UPDATE catalogue_state SET version = version + 1"
                               " RETURNING version")


async def current_version(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    return await conn.fetchval("SELECT version FROM catalogue_state")


async def changed_since(pool: asyncpg.Pool, version: int) -> tuple[list[Entry], int]:
    """The entries changed after `version`, and the version they are complete up to: read
    in one snapshot, so no change of a lower version commits after it."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                        readonly=True):
        upto = await current_version(conn)
        offers = await conn.fetch(f"SELECT {_OFFER_COLUMNS} FROM offers WHERE version > $1",
                                  version)
        lounges = await conn.fetch(
            f"SELECT {_LOUNGE_COLUMNS} FROM lounges WHERE version > $1", version)
    return [*map(offer_entry, offers), *map(lounge_entry, lounges)], upto


async def entry(conn: asyncpg.Connection, kind: Kind, entry_id: str) -> Entry | None:
    """The entry, locked until the transaction ends."""
    if kind == "offer":
        row = await conn.fetchrow(
            f"SELECT {_OFFER_COLUMNS} FROM offers WHERE id = $1 FOR UPDATE", entry_id)
        return row and offer_entry(row)
    row = await conn.fetchrow(
        f"SELECT {_LOUNGE_COLUMNS} FROM lounges WHERE id = $1 FOR UPDATE", entry_id)
    return row and lounge_entry(row)


# ---------------------------------------------------------------------- changes

async def save(conn: asyncpg.Connection, recorded: Recorded, staff_id: str,
               reason: str | None, at: datetime) -> None:
    """The entry as changed, and the change's audit row."""
    e = recorded.entry
    if isinstance(e, OfferEntry):
        await conn.execute(_SAVE_OFFER, *_offer_values(e), at, staff_id)
    else:
        await conn.execute(_SAVE_LOUNGE, *_lounge_values(e), at, staff_id)
    await conn.execute(
        "INSERT INTO catalogue_changes (version, kind, entry_id, partner_id, change, staff_id,"
        " reason, at, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        e.version, e.kind, e.id, e.partner_id, recorded.change, staff_id, reason, at,
        _json(as_json(recorded.before)), _json(as_json(e)))


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


async def changes(pool: asyncpg.Pool, after: int, limit: int,
                  partner_id: str | None = None) -> list[asyncpg.Record]:
    """The audit after version `after`, oldest first; a partner's own entries only if
    `partner_id` is given."""
    return await pool.fetch(
        "SELECT version, kind, entry_id, partner_id, change, staff_id, reason, at, before,"
        " after FROM catalogue_changes WHERE version > $1"
        " AND ($3::text IS NULL OR partner_id = $3) ORDER BY version LIMIT $2",
        after, limit, partner_id)


# ---------------------------------------------------------------------- the demo files

async def seed(conn: asyncpg.Connection, schema: str, offers: Sequence[dict],
               lounges: Sequence[dict], *, force: bool = False) -> int:
    """The demo files into a catalogue never seeded (or, `force`: the demo entries that
    are missing), as one version; entries already there are left as they are, except on
    the first seeding after migration 0007, which completes the rows of the files before
    it. Returns the entries written. Every instance runs it at start, one at a time."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{schema}.catalogue")
        seeded = await conn.fetchval("SELECT seeded_at IS NOT NULL FROM catalogue_state")
        if seeded and not force:
            return 0
        version = await next_version(conn)
        keep = "NOTHING" if seeded else "UPDATE SET " + ", ".join(
            f"{c} = excluded.{c}" for c in ("partner_id", "merchant", "industry", "title",
                                            "points_price", "discount_percent", "valid_from",
                                            "valid_until", "eligible_tiers",
                                            "limit_per_period", "period", "cities",
                                            "version"))
        o = sorted(offers, key=lambda r: r["offer_id"])
        written = await conn.fetchval(f"""
            WITH written AS (
                INSERT INTO offers (id, partner_id, merchant, industry, title, points_price,
                                    discount_percent, valid_from, valid_until, eligible_tiers,
                                    limit_per_period, period, cities, version)
                SELECT id, partner, merchant, industry, title, pp, dp, vf, vu, tiers::text[],
                       lim, per, cities::text[], $14
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                            $6::int[], $7::int[], $8::date[], $9::date[], $10::text[],
                            $11::int[], $12::text[], $13::text[])
                     AS o (id, partner, merchant, industry, title, pp, dp, vf, vu, tiers, lim,
                           per, cities)
                ORDER BY 1
                ON CONFLICT (id) DO {keep} RETURNING 1)
            SELECT count(*) FROM written""",
            [r["offer_id"] for r in o], [r["partner_id"] for r in o],
            [r["merchant"] for r in o], [r["industry"] for r in o], [r["title"] for r in o],
            [_num(r["points_price"]) for r in o], [_num(r["discount_percent"]) for r in o],
            [date.fromisoformat(r["valid_from"]) for r in o],
            [date.fromisoformat(r["valid_until"]) for r in o],
            [_array(r["eligible_tiers"]) for r in o], [int(r["limit_per_period"]) for r in o],
            [r["period"] for r in o], [_array(r["cities"]) for r in o], version)
        ls = sorted(lounges, key=lambda r: r["lounge_id"])
        keep = "NOTHING" if seeded else "UPDATE SET " + ", ".join(
            f"{c} = excluded.{c}" for c in ("airport_code", "city", "terminal", "name",
                                            "operator_id", "operator", "version"))
        written += await conn.fetchval(f"""
            WITH written AS (
                INSERT INTO lounges (id, airport_code, city, terminal, name, operator_id,
                                     operator, version)
                SELECT *, $8 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                         $5::text[], $6::text[], $7::text[])
                ORDER BY 1
                ON CONFLICT (id) DO {keep} RETURNING 1)
            SELECT count(*) FROM written""",
            *([r[c] for r in ls] for c in ("lounge_id", "airport_code", "city", "terminal",
                                           "name", "operator_id", "operator")), version)
        await conn.execute("UPDATE catalogue_state SET seeded_at = coalesce(seeded_at, now())")
        return written


def _num(value: str) -> int | None:
    return int(value) if value else None


def _array(pipes: str) -> str:
    """A pipe list of the files as a Postgres array literal."""
    return "{" + ",".join(f'"{v}"' for v in pipes.split("|") if v) + "}"


async def used(pool: asyncpg.Pool, member_id: str,
               counters: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """What the member used of each (item, period) counter; absent ones are 0."""
    rows = await pool.fetch(
        "SELECT u.item, u.period, u.used FROM usage u"
        " JOIN unnest($2::text[], $3::text[]) AS c (item, period)"
        "   ON u.item = c.item AND u.period = c.period WHERE u.member_id = $1",
        member_id, [c[0] for c in counters], [c[1] for c in counters])
    return {(r["item"], r["period"]): r["used"] for r in rows}
