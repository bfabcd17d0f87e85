"""A closed ledger after late facts (domain/ledger.py `true_up`): facts dated before the
closure leave the same balance, forfeiture and per-fact movements wherever the closure
falls among them in arrival order; and a lot expiring twice the same day gets a transfer
reference of its own each time."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.points.domain.ledger import MemberLedger, expiry_reference

AT = datetime(2026, 3, 10, tzinfo=UTC)
CLOSED = AT + timedelta(days=30)
LOT = date(2027, 12, 31)

#: ("earn", points) or ("reverse", points), in event-time order, all before the closure.
facts = st.lists(st.tuples(st.sampled_from(["earn", "reverse"]),
                           st.integers(min_value=1, max_value=500)), max_size=8)


def _apply(g: MemberLedger, n: int, kind: str, points: int) -> None:
    if kind == "earn":
        g.credit("earn", f"F{n}", points, LOT, AT)
    else:
        g.reverse(f"F{n}", points, LOT, AT)
    if g.closed:
        g.true_up(f"F{n}", CLOSED)


def _outcome(g: MemberLedger) -> tuple:
    moved = sorted((p.kind, p.reference, p.points) for p in g.postings if p.kind != "forfeit")
    forfeited = -sum(p.points for p in g.postings if p.kind == "forfeit")
    return g.balance, sum(g.lots.values()), forfeited, g.forfeited, moved


@given(facts, st.data())
def test_a_closure_anywhere_among_the_facts_gives_the_same_ledger(fs, data):
    in_order = MemberLedger("C1")
    for n, (kind, points) in enumerate(fs):
        _apply(in_order, n, kind, points)
    in_order.close(CLOSED)

    at = data.draw(st.integers(min_value=0, max_value=len(fs)))
    late = MemberLedger("C1")
    for n, (kind, points) in enumerate(fs):
        if n == at:
            late.close(CLOSED)
        _apply(late, n, kind, points)
    if at == len(fs):
        late.close(CLOSED)

    assert _outcome(late) == _outcome(in_order)
    assert late.balance <= 0 and late.forfeited >= 0


def test_facts_dated_after_the_closure_do_not_count_as_before_it():
    g = MemberLedger("C1")
    g.close(CLOSED)
    assert g.before_closure(CLOSED - timedelta(seconds=1))
    assert not g.before_closure(CLOSED) and not g.before_closure(CLOSED + timedelta(days=1))


def test_a_lot_expiring_twice_the_same_day_has_two_references():
    g = MemberLedger("C1")
    g.credit("earn", "T1", 100, LOT, AT)
    on = datetime(2028, 1, 1, tzinfo=UTC)
    assert g.expire(LOT, on) == 100
    g.credit("refund", "rdm_1", 40, LOT, on)  # a cancelled debit back into its lot
    assert g.expire(LOT, on, earlier=1) == 40
    references = [p.reference for p in g.postings if p.kind == "expire"]
    assert references == [expiry_reference("C1", LOT, on), expiry_reference("C1", LOT, on, 1)]
    assert references == ["C1:2027-12-31:2028-01-01", "C1:2027-12-31:2028-01-01/2"]
