"""Points issued, redeemed, expired, outstanding and the liability; breakage
(domain/points.py)."""

from decimal import Decimal

from services.analytics.domain.figures import PointsMonth
from services.analytics.domain.history import PointsTotals
from services.analytics.domain.points import breakage_rate, points_months

TOTALS = {
    "2026-01": PointsTotals(issued=1000, redeemed=200),
    "2026-02": PointsTotals(issued=500, redeemed=100, expired=300, forfeited=50),
}


def test_outstanding_counts_every_month_before_the_report():
    rows = points_months(TOTALS, ["2026-02", "2026-03"], Decimal("0.01"))
    # Feb: (1000 - 200) + (500 - 100 - 300 - 50) = 850 points, 8.50 CNY
    assert rows == [PointsMonth("2026-02", 500, 100, 300, 850, Decimal("8.50")),
                    PointsMonth("2026-03", 0, 0, 0, 850, Decimal("8.50"))]
    assert breakage_rate(rows) == 300 / 500


def test_no_issue_no_breakage():
    assert breakage_rate(points_months({}, ["2026-01"], Decimal("0.01"))) == 0.0
