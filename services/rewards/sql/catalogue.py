"""The shipped catalogue of offers and lounges, upserted at every start."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

_UPSERT_OFFERS = """
INSERT INTO offers (id, merchant, industry, title, points_price, discount_percent, valid_from,
                    valid_until, eligible_tiers, limit_per_period, period)
SELECT id, merchant, industry, title, pp, dp, vf, vu, tiers::text[], lim, per
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::date[],
            $8::date[], $9::text[], $10::int[], $11::text[])
     AS o (id, merchant, industry, title, pp, dp, vf, vu, tiers, lim, per)
ORDER BY 1
ON CONFLICT (id) DO UPDATE SET
    merchant = excluded.merchant, industry = excluded.industry, title = excluded.title,
    points_price = excluded.points_price, discount_percent = excluded.discount_percent,
    valid_from = excluded.valid_from, valid_until = excluded.valid_until,
    eligible_tiers = excluded.eligible_tiers, limit_per_period = excluded.limit_per_period,
    period = excluded.period
"""

_UPSERT_LOUNGES = """
INSERT INTO lounges (id, airport_code, city, terminal, name, operator_id, operator)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[])
ORDER BY 1
ON CONFLICT (id) DO UPDATE SET
    airport_code = excluded.airport_code, city = excluded.city, terminal = excluded.terminal,
    name = excluded.name, operator_id = excluded.operator_id, operator = excluded.operator
"""


async def upsert_catalogue(conn: asyncpg.Connection, schema: str, offers: Sequence[dict],
                           lounges: Sequence[dict]) -> None:
    """The shipped catalogue (rows as in the CSV files), idempotently: every start of every
    instance runs it, one at a time."""
    def num(value: str) -> int | None:
        return int(value) if value else None

    o = sorted(offers, key=lambda r: r["offer_id"])
    ls = sorted(lounges, key=lambda r: r["lounge_id"])
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{schema}.catalogue")
        await conn.execute(
            _UPSERT_OFFERS, [r["offer_id"] for r in o], [r["merchant"] for r in o],
            [r["industry"] for r in o], [r["title"] for r in o],
            [num(r["points_price"]) for r in o], [num(r["discount_percent"]) for r in o],
            [date.fromisoformat(r["valid_from"]) for r in o],
            [date.fromisoformat(r["valid_until"]) for r in o],
            # text[] of a pipe list: stored as a Postgres array literal per row
            ["{" + ",".join(r["eligible_tiers"].split("|")) + "}" for r in o],
            [int(r["limit_per_period"]) for r in o], [r["period"] for r in o])
        await conn.execute(
            _UPSERT_LOUNGES, *([r[c] for r in ls] for c in (
                "lounge_id", "airport_code", "city", "terminal", "name", "operator_id",
                "operator")))
