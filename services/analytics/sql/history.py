"""Reading the read models back as a domain History: the members with their tier changes
and their months from `first` to `last`, the redemptions of those months, and the points
totals of every month up to `last`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date

import asyncpg

from contracts.tiers import ENROLMENT_TIER

from ..domain.activity import COUNTERS
from ..domain.history import Activity, History, Member, PointsTotals, Redemption

_MEMBERS = """
SELECT member_id, enrolled_month, enrolled_tier, closed_month FROM members
UNION ALL
SELECT DISTINCT member_id, NULL, NULL, NULL FROM member_months mm
WHERE NOT EXISTS (SELECT FROM members m WHERE m.member_id = mm.member_id)
"""
_MONTHS = f"""
SELECT month, member_id, assets, {", ".join(COUNTERS)} FROM member_months
WHERE month BETWEEN $1 AND $2
"""
_REDEMPTIONS = """
SELECT member_id, month, kind, airport, persons, points FROM redemptions
WHERE month BETWEEN $1 AND $2
"""
_POINTS = """
SELECT month, sum(points_issued) AS issued, sum(points_redeemed) AS redeemed,
       sum(points_expired) AS expired, sum(points_forfeited) AS forfeited  -- numeric sums
FROM member_months WHERE month <= $1 GROUP BY month
"""


async def load(conn: asyncpg.Connection, first: str, last: str,
               cities: Mapping[str, str]) -> History:
    changes: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for row in await conn.fetch("SELECT member_id, effective_date, tier FROM tier_changes"
                                " ORDER BY member_id, effective_date"):
        changes[row["member_id"]].append((row["effective_date"], row["tier"]))
    months: dict[str, dict[str, Activity]] = defaultdict(dict)
    for row in await conn.fetch(_MONTHS, first, last):
        months[row["member_id"]][row["month"]] = Activity(
            assets=row["assets"], **{c: row[c] for c in COUNTERS})
    members = {
        row["member_id"]: Member(
            row["member_id"], row["enrolled_month"], row["enrolled_tier"] or ENROLMENT_TIER,
            row["closed_month"], tuple(changes.get(row["member_id"], ())),
            months.get(row["member_id"], {}))
        for row in await conn.fetch(_MEMBERS)}
    return History(
        members=members,
        redemptions=[Redemption(**row) for row in await conn.fetch(_REDEMPTIONS, first, last)],
        points={row["month"]: PointsTotals(*(int(row[c]) for c in
                                             ("issued", "redeemed", "expired", "forfeited")))
                for row in await conn.fetch(_POINTS, last)},
        cities=dict(cities))
