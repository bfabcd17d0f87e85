"""The points' cost: issued (earned and goodwill, net of reversals and re-ratings),
redeemed (debited, net of refunds), expired in each month, and outstanding at its end:
everything issued since the programme began less everything redeemed, expired and forfeited
(a closed member's points). The liability is the outstanding points at the point value.
Breakage: points expired over points issued, over the report's months."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from .figures import PointsMonth
from .history import PointsTotals
from .value import cents


def points_months(totals: Mapping[str, PointsTotals], months: list[str],
                  point_value: Decimal) -> list[PointsMonth]:
    rows: list[PointsMonth] = []
    for month in months:
        outstanding = sum(t.issued - t.redeemed - t.expired - t.forfeited
                          for key, t in totals.items() if key <= month)
        this = totals.get(month, PointsTotals())
        rows.append(PointsMonth(month, this.issued, this.redeemed, this.expired, outstanding,
                                cents(outstanding * point_value)))
    return rows


def breakage_rate(rows: list[PointsMonth]) -> float:
    issued = sum(row.issued for row in rows)
    return sum(row.expired for row in rows) / issued if issued > 0 else 0.0
