"""A member's ledger: lots by expiry, nearest expiry spent first, debts only by reversal."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.points.domain.ledger import MemberLedger

AT = datetime(2026, 3, 10, tzinfo=UTC)
Y26, Y27 = date(2026, 12, 31), date(2027, 12, 31)


def ledger(**lots: int) -> MemberLedger:
    g = MemberLedger("C0000000001")
    for day, points in lots.items():
        g.credit("earn", f"T-{day}", points, {"y26": Y26, "y27": Y27}[day], AT)
    g.postings.clear()
    return g


def test_a_debit_takes_the_nearest_expiry_first():
    g = ledger(y27=500, y26=300)
    assert g.debit("R1", 400, today=date(2026, 6, 1), at=AT) == {Y26: 300, Y27: 100}
    assert (g.balance, g.lots) == (400, {Y26: 0, Y27: 400})
    assert [(p.kind, p.points) for p in g.postings] == [("debit", -400)]


def test_a_debit_may_not_spend_expired_points_or_overdraw():
    g = ledger(y26=300, y27=100)
    assert g.available(date(2027, 1, 1)) == 100
    with pytest.raises(ValueError):
        g.debit("R1", 200, today=date(2027, 1, 1), at=AT)


def test_a_refund_returns_points_to_the_lots_they_came_from():
    g = ledger(y26=300, y27=500)
    taken = g.debit("R1", 400, today=date(2026, 6, 1), at=AT)
    g.refund("R1", taken, AT)
    assert (g.balance, g.lots) == (800, {Y26: 300, Y27: 500})


def test_a_reversal_beyond_the_lots_is_a_debt_that_later_credits_pay_first():
    g = ledger(y27=100)
    g.reverse("RF1", 150, from_lot=Y27, at=AT)
    assert (g.balance, g.lots[Y27]) == (-50, 0)
    g.credit("earn", "T2", 80, Y27, AT)
    assert (g.balance, g.lots[Y27]) == (30, 30)


def test_a_reversal_takes_from_its_own_lot_first():
    g = ledger(y26=100, y27=100)
    g.reverse("RF1", 60, from_lot=Y27, at=AT)
    assert g.lots == {Y26: 100, Y27: 40}


def test_expiry_and_forfeiture_empty_lots_and_post_once():
    g = ledger(y26=100, y27=50)
    assert g.expire(Y26, AT) == 100 and g.expire(Y26, AT) == 0
    assert g.forfeit("C0000000001", AT) == 50
    assert (g.balance, g.closed, sum(g.lots.values())) == (0, True, 0)
    assert [(p.kind, p.points) for p in g.postings] == [("expire", -100), ("forfeit", -50)]


def test_due_lots_expire_oldest_first_and_only_after_their_day():
    g = ledger(y26=100, y27=50)
    assert g.expire_due(Y26, AT) == []  # points last through their expiry date
    assert g.expire_due(date(2028, 1, 1), AT) == [(Y26, 100), (Y27, 50)]
    assert g.expire_due(date(2028, 1, 1), AT) == []
    assert g.balance == 0


def test_closing_forfeits_once():
    g = ledger(y26=100)
    assert g.close(AT) == 100 and g.close(AT) == 0
    assert [(p.kind, p.reference, p.points) for p in g.postings] == [
        ("forfeit", "C0000000001", -100)]


operations = st.lists(st.tuples(
    st.sampled_from(["earn", "reverse", "debit", "expire"]),
    st.integers(1, 5_000), st.sampled_from([Y26, Y27])), max_size=40)


@given(operations)
def test_lots_always_add_up_to_the_balance_or_zero_in_debt(ops):
    g = MemberLedger("C0000000001")
    for n, (op, points, day) in enumerate(ops):
        if op == "earn":
            g.credit("earn", f"T{n}", points, day, AT)
        elif op == "reverse":
            g.reverse(f"RF{n}", points, from_lot=day, at=AT)
        elif op == "debit" and g.available(date(2026, 1, 1)) >= points:
            g.debit(f"R{n}", points, date(2026, 1, 1), AT)
        elif op == "expire":
            g.expire(day, AT)
        assert all(p >= 0 for p in g.lots.values())
        assert sum(g.lots.values()) == max(g.balance, 0)
        assert sum(p.points for p in g.postings) == g.balance
