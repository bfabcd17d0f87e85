"""What consumed events add to members' months (domain/activity.py): the business month of
the event's own time in Asia/Shanghai, counters that add up, points netted, assets set."""

from datetime import UTC, datetime
from decimal import Decimal

from contracts.corebanking.v1 import (
    AssetSnapshotTaken,
    CardTransactionPosted,
    CardTransactionRefunded,
    Merchant,
)
from contracts.points.v1 import PointsDebited, PointsRefunded, PointsReversed
from services.analytics.domain.activity import COUNTERS, Tally
from services.analytics.domain.months import add, month_of, series

MEMBER = "C0000000001"
# 31 Jan 20:00 UTC is 1 Feb 04:00 in Shanghai: February's
LATE_JANUARY_UTC = datetime(2026, 1, 31, 20, 0, tzinfo=UTC)


def posted(amount: str, at: datetime) -> CardTransactionPosted:
    return CardTransactionPosted(
        transaction_id=f"t-{amount}", customer_id=MEMBER, card_token="tok_test_0001",
        merchant=Merchant(merchant_id="M1", name="商户", mcc="5411", city="上海", country="CN"),
        transaction_amount=Decimal(amount), transaction_currency="CNY",
        settlement_amount=Decimal(amount), settlement_currency="CNY", posted_at=at)


def counters(tally: Tally, month: str) -> dict:
    [row] = [r for r in tally.rows() if r[0] == month]
    return {name: value for name, value in zip(COUNTERS, row[2], strict=True) if value}


def test_the_month_is_shanghai_s():
    assert month_of(LATE_JANUARY_UTC) == "2026-02"
    assert (add("2026-01", -1), add("2026-12", 1)) == ("2025-12", "2027-01")
    assert series("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]


def test_a_batch_adds_up_per_member_and_month():
    feb = datetime(2026, 2, 10, tzinfo=UTC)
    tally = Tally().add([
        posted("100.50", LATE_JANUARY_UTC), posted("20", feb),
        CardTransactionRefunded(refund_id="r1", original_transaction_id="t-20",
                                customer_id=MEMBER, card_token="tok_test_0001", mcc="5411",
                                refund_amount=Decimal("5"), settlement_currency="CNY",
                                refunded_at=feb),
        PointsReversed(member_id=MEMBER, refund_id="r1", transaction_id="t-20", points=7,
                       reversed_at=feb),
        PointsDebited(member_id=MEMBER, debit_id="d1", points=300, balance_after=0,
                      debited_at=feb),
        PointsRefunded(member_id=MEMBER, debit_id="d1", points=300, refunded_at=feb),
        AssetSnapshotTaken(customer_id=MEMBER, month="2026-01", average_daily_assets=5000,
                           currency="CNY", taken_at=feb),
    ])
    assert counters(tally, "2026-02") == {
        "purchases": 2, "spend": Decimal("120.50"), "refunded": Decimal("5"),
        "points_issued": -7}  # redeemed: 300 debited, 300 given back
    [january] = [r for r in tally.rows() if r[0] == "2026-01"]
    assert january[3] == Decimal(5000) and not any(january[2])
