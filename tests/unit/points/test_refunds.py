"""Refunds reverse points proportionally, cumulatively, and never more than earned."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.points.domain.ledger import MemberLedger
from services.points.domain.refunds import Refundable, points_to_reverse


def reverse_all(earned: int, spend: Decimal, refunds: list[Decimal]) -> list[int]:
    refunded, reversed_, out = Decimal(0), 0, []
    for amount in refunds:
        points = points_to_reverse(earned, spend, refunded, reversed_, amount)
        refunded += amount
        reversed_ += points
        out.append(points)
    return out


@pytest.mark.parametrize("earned, spend, refunds, expected", [
    (100, "100.00", ["100.00"], [100]),                       # full refund
    (240, "100.00", ["50.00"], [120]),                        # half of a x2.4 purchase
    (100, "100.00", ["33.33", "33.33", "33.34"], [33, 33, 34]),  # thirds add up to all
    (2000, "1000.00", ["300.00"] * 4, [600, 600, 600, 200]),  # the fourth is capped
    (100, "100.00", ["150.00"], [100]),                       # more than spent: all, no more
    (100, "100.00", ["0.01"] * 3, [0, 0, 0]),                 # floored: cents reverse nothing
    (0, "5000.00", ["5000.00"], [0]),                         # earned nothing (cash, closed)
    (7, "7.99", ["7.99"], [7]),
])
def test_table(earned, spend, refunds, expected):
    assert reverse_all(earned, Decimal(spend), [Decimal(r) for r in refunds]) == expected


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)


@given(earned=st.integers(0, 50_000), spend=amounts, refunds=st.lists(amounts, max_size=12))
def test_reversals_never_exceed_earnings(earned, spend, refunds):
    reversed_ = reverse_all(earned, spend, refunds)
    assert all(points >= 0 for points in reversed_)
    assert sum(reversed_) <= earned
    if sum(refunds) >= spend:
        assert sum(reversed_) == earned  # refunded in full: everything comes back


@given(earned=st.integers(0, 50_000), spend=amounts, data=st.data())
def test_the_total_does_not_depend_on_how_a_refund_is_split(earned, spend, data):
    total = data.draw(st.decimals(min_value=Decimal("0.01"), max_value=spend, places=2))
    cuts = sorted(data.draw(st.lists(
        st.decimals(min_value=Decimal("0.01"), max_value=total, places=2), max_size=5)))
    parts = [b - a for a, b in zip([Decimal(0), *cuts], [*cuts, total], strict=True) if b > a]
    assert sum(reverse_all(earned, spend, parts)) == sum(reverse_all(earned, spend, [total]))


def test_a_purchase_records_its_refunds_and_reverses_from_its_own_lot_first():
    at = datetime(2026, 3, 11, tzinfo=UTC)
    y26, y27 = date(2026, 12, 31), date(2027, 12, 31)
    ledger = MemberLedger("C0000000001", 300, {y26: 100, y27: 200})
    purchase = Refundable("T1", "C0000000001", Decimal("100.00"), 200, y27,
                          refunded=Decimal(0), reversed=0)
    first = purchase.refund(ledger, "R1", Decimal("50.00"), at)
    second = purchase.refund(ledger, "R2", Decimal("80.00"), at)
    assert [(r.refund_id, r.points) for r in (first, second)] == [("R1", 100), ("R2", 100)]
    assert (purchase.refunded, purchase.reversed) == (Decimal("130.00"), 200)
    assert ledger.lots == {y26: 100, y27: 0}
    assert purchase.refund(ledger, "R3", Decimal("1.00"), at).points == 0
    assert [p.reference for p in ledger.postings] == ["R1", "R2"]  # none for nothing


def test_a_refund_after_the_member_closed_takes_nothing_from_the_closed_ledger():
    at = datetime(2026, 3, 11, tzinfo=UTC)
    y27 = date(2027, 12, 31)
    ledger = MemberLedger("C0000000001", 200, {y27: 200})
    ledger.close(at)
    purchase = Refundable("T1", "C0000000001", Decimal("100.00"), 200, y27,
                          refunded=Decimal(0), reversed=0)
    reversal = purchase.refund(ledger, "R1", Decimal("100.00"), at)
    assert (reversal.points, purchase.refunded, purchase.reversed) == (0, Decimal("100.00"), 0)
    assert ledger.balance == 0 and [p.kind for p in ledger.postings] == ["forfeit"]
