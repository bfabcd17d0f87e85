"""SQL of re-rating: members' purchases as rated now (the `ratings` view: the last
re-rating, else the first earning) with what their refunds took back, and the re-ratings
made. Read after the members' ledgers are locked (and a closure being applied recorded)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from ..domain.earning import Earning, Purchase, bonus_month
from ..domain.rerating import Rated, Rerating
from ..domain.rules import EarningRules
from .refunds import REFUNDED_SO_FAR, REFUNDS_OF_PURCHASE

_RATED_SINCE = f"""
SELECT g.*, {REFUNDED_SO_FAR}
FROM unnest($1::text[], $2::timestamptz[]) AS m (member_id, since)
JOIN ratings g ON g.member_id = m.member_id AND g.earned_at >= m.since
{REFUNDS_OF_PURCHASE}
ORDER BY g.member_id, g.earned_at, g.transaction_id
"""


async def rated_since(conn: asyncpg.Connection, since: Mapping[str, datetime],
                      rules: EarningRules) -> dict[str, list[Rated]]:
    """Each member's purchases posted from `since[member]` on, as rated now."""
    members = sorted(since)
    rows = await conn.fetch(_RATED_SINCE, members, [since[m] for m in members])
    rated: dict[str, list[Rated]] = defaultdict(list)
    for row in rows:
        purchase = Purchase(row["transaction_id"], row["member_id"], row["mcc"],
                            row["spend_cny"], row["earned_at"], row["channel"])
        earning = Earning(row["points"], row["base_points"], row["bonus_points"],
                          row["multiplier"], row["tier"], tuple(row["rule_ids"]),
                          tuple(row["caps_applied"]), row["expires_on"],
                          bonus_month(row["earned_at"], rules))
        rated[row["member_id"]].append(Rated(purchase, earning, row["refunded"],
                                             row["reversed"], row["revision"],
                                             row["reversed_adjustment"],
                                             row["refunded_after_closure"]))
    return rated


_COLUMNS = ("reference", "transaction_id", "revision", "member_id", "points", "base_points",
            "bonus_points", "multiplier", "tier", "rule_ids", "caps_applied",
            "reversed_adjustment", "points_moved", "rerated_at")


async def record(conn: asyncpg.Connection, reratings: Sequence[Rerating]) -> None:
    if reratings:
        await conn.copy_records_to_table("reratings", columns=_COLUMNS, records=sorted(
            (r.reference, r.rated.purchase.transaction_id, r.revision,
             r.rated.purchase.member_id, r.earning.points, r.earning.base, r.earning.bonus,
             r.earning.multiplier, r.earning.tier, list(r.earning.rule_ids),
             list(r.earning.caps_applied), r.reversed_adjustment, r.points, r.at)
            for r in reratings))

