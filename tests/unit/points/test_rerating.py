"""Re-rating after a tier change for a past day: whole months rated again in posted order,
the difference posted, nothing credited twice, and the same end as in-order earning."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.points.domain.earning import MEMBER_CLOSED, Accrual, Purchase, tier_on
from services.points.domain.ledger import MemberLedger
from services.points.domain.refunds import Refundable
from services.points.domain.rerating import Rated, Rerating, close, reference, rerate
from tests.unit.points.purchases import SHANGHAI

MEMBER = "C0000000001"
AT = datetime(2026, 6, 1, tzinfo=SHANGHAI)


def bought(n: int, day: int, spend: str, mcc: str = "7011", month: int = 3) -> Purchase:
    return Purchase(f"T{n}", MEMBER, mcc, Decimal(spend),
                    datetime(2026, month, day, 12, tzinfo=SHANGHAI))


def earned_in_order(purchases, history, rules) -> tuple[MemberLedger, dict[str, Rated]]:
    """What in-order delivery gives: every purchase earned with the tier history known."""
    ledger = MemberLedger(MEMBER)
    accrual = Accrual(rules, {MEMBER: history}, {})
    for p in purchases:
        accrual.earn(p, ledger)
    return ledger, {p.transaction_id: Rated(p, e, Decimal(0), 0) for p, e in accrual.earned}


def apply(rated: dict[str, Rated], reratings: list[Rerating]) -> dict[str, Rated]:
    """The purchases as the SQL layer reads them back after the re-ratings."""
    out = dict(rated)
    for r in reratings:
        out[r.rated.purchase.transaction_id] = Rated(
            r.rated.purchase, r.earning, r.rated.refunded, r.reversed, r.revision,
            r.reversed_adjustment)
    return out


def test_an_upgrade_for_a_past_day_rerates_its_window_within_the_monthly_cap(counted_rules):
    # Three hotels in March and one in April; gold from March 15th, private banking from
    # April 1st (already known). Standard earned 9000 each in March (6000 bonus each).
    purchases = [bought(1, 10, "3000.00"), bought(2, 20, "3000.00"), bought(3, 25, "3000.00"),
                 bought(4, 5, "1000.00", month=4)]
    known = [(date(2026, 4, 1), "private_banking")]
    ledger, rated = earned_in_order(purchases, known, counted_rules)
    assert ledger.balance == 3 * 9000 + 6000
    ledger.postings.clear()

    history = [(date(2026, 3, 15), "gold"), *known]
    reratings, bonus = rerate(list(rated.values()), history, ledger, counted_rules, AT)
    # Gold x3.6 from the 15th: 10800 each, 7800 bonus, capped at 20000 for March in posted
    # order (6000 + 7800 + 6200); April is untouched (its tier did not change).
    assert [(r.reference, r.earning.points, r.points) for r in reratings] == [
        ("T2/rerated-1", 10800, 1800), ("T3/rerated-1", 9200, 200)]
    assert bonus == {date(2026, 3, 1): 20000}
    expected, _ = earned_in_order(purchases, history, counted_rules)
    assert ledger.balance == expected.balance and ledger.lots == expected.lots
    assert [(p.kind, p.reference, p.points) for p in ledger.postings] == [
        ("earn", "T2/rerated-1", 1800), ("earn", "T3/rerated-1", 200)]

    # The same history again: nothing; a correction back and its undo: they net to it.
    after = apply(rated, reratings)
    assert rerate(list(after.values()), history, ledger, counted_rules, AT) == ([], {})
    wrong = [(date(2026, 3, 15), "standard"), *known]
    undone = apply(after, rerate(list(after.values()), wrong, ledger, counted_rules, AT)[0])
    redone = apply(undone, rerate(list(undone.values()), history, ledger, counted_rules, AT)[0])
    assert ledger.balance == expected.balance and ledger.lots == expected.lots
    assert redone["T3"].revision == 3 and redone["T3"].earning == after["T3"].earning


def test_a_downgrade_takes_back_the_difference_and_rerates_refunds_share(rules):
    purchase = bought(1, 10, "1000.00", mcc="5411")
    ledger, rated = earned_in_order([purchase], [(date(2026, 3, 1), "private_banking")], rules)
    # Half refunded at 2000 points: 1000 taken back; 1000 left.
    refundable = Refundable("T1", MEMBER, Decimal("1000.00"), 2000, date(2027, 12, 31),
                            Decimal(0), 0)
    refundable.refund(ledger, "R1", Decimal("500.00"), AT)
    assert ledger.balance == 1000
    current = Rated(purchase, rated["T1"].earning, Decimal("500.00"), 1000)

    # The upgrade never was: standard earns 1000, half refunded leaves 500.
    [r], _ = rerate([current], [], ledger, rules, AT)
    assert (r.earning.points, r.reversed, r.points, r.reversed_adjustment) == (
        1000, 500, -500, -500)
    assert ledger.balance == 500
    assert [(p.kind, p.reference, p.points) for p in ledger.postings][-1] == (
        "reverse", "T1/rerated-1", -500)


def test_a_closed_member_is_rerated_and_what_it_credits_is_forfeited_at_once(counted_rules):
    """Issue 13: a tier change that reaches points after the closure re-rates the purchases
    dated before it, as in the other order; the closed ledger is trued up at once."""
    purchases, gold = [bought(1, 10, "100.00")], [(date(2026, 3, 1), "gold")]
    ledger, rated = earned_in_order(purchases, [], counted_rules)
    ledger.close(AT)
    [r], bonus = rerate(list(rated.values()), gold, ledger, counted_rules, AT)
    # A hotel: standard x3 earned 300; gold x3.6 earns 360, the 60 more forfeited at once.
    assert (r.reference, r.earning.tier, r.earning.points, r.points, r.forfeited) == (
        "T1/rerated-1", "gold", 360, 60, 60)
    assert bonus == {date(2026, 3, 1): 260}
    assert ledger.balance == 0
    assert [(p.kind, p.reference, p.points) for p in ledger.postings][-2:] == [
        ("earn", "T1/rerated-1", 60), ("forfeit", "T1/rerated-1", -60)]
    in_order, _ = earned_in_order(purchases, gold, counted_rules)
    in_order.close(AT)
    assert (ledger.balance, ledger.forfeited, ledger.lots) == (
        in_order.balance, in_order.forfeited, {d: 0 for d in in_order.lots})

    # Corrected back: the 60 come back out of the forfeiture (a give-back, its own event).
    [back], _ = rerate([Rated(r.rated.purchase, r.earning, Decimal(0), 0, 1)], [], ledger,
                       counted_rules, AT)
    assert (back.points, back.forfeited, ledger.balance, ledger.forfeited) == (-60, -60, 0, 300)


def test_a_closure_rerates_what_is_dated_after_it_to_nothing(rules):
    """A purchase and a refund dated after the closure that arrived before it: when the
    closure comes, the purchase earns nothing (`member-closed`), the refund takes nothing
    back, and what is left is forfeited: the ledger of the closure arriving first."""
    closing = datetime(2026, 3, 20, tzinfo=SHANGHAI)
    purchases = [bought(1, 10, "1000.00", mcc="5411"), bought(2, 25, "500.00", mcc="5411")]
    ledger, rated = earned_in_order(purchases, [], rules)
    t1 = Refundable("T1", MEMBER, Decimal("1000.00"), 1000, date(2027, 12, 31), Decimal(0), 0)
    t1.refund(ledger, "R1", Decimal("400.00"), closing + timedelta(days=1))  # took 400
    t2 = Refundable("T2", MEMBER, Decimal("500.00"), 500, date(2027, 12, 31), Decimal(0), 0)
    t2.refund(ledger, "R2", Decimal("100.00"), closing + timedelta(days=2))  # took 100
    assert ledger.balance == 1000
    # As the SQL layer reads them once the closure is recorded (the refunds dated after it).
    now = [Rated(rated["T1"].purchase, rated["T1"].earning, Decimal("400.00"), 400,
                 refunded_after_closure=Decimal("400.00")),
           Rated(rated["T2"].purchase, rated["T2"].earning, Decimal("100.00"), 100,
                 refunded_after_closure=Decimal("100.00"))]

    reratings, bonus, forfeited = close(now, [], ledger, rules, closing)
    assert [(r.reference, r.earning.points, r.earning.rule_ids, r.reversed, r.points)
            for r in reratings] == [("T1/rerated-1", 1000, rated["T1"].earning.rule_ids, 0, 400),
                                    ("T2/rerated-1", 0, (MEMBER_CLOSED,), 0, -400)]
    assert bonus == {date(2026, 3, 1): 0}  # March worked out again: groceries, no bonus
    assert (forfeited, ledger.balance, ledger.closed, ledger.closed_at) == (
        1000, 0, True, closing)

    # The closure first: T2 earns nothing, the refunds take nothing back.
    first = MemberLedger(MEMBER)
    accrual = Accrual(rules, {}, {})
    accrual.earn(purchases[0], first)
    assert first.close(closing) == 1000
    accrual.earn(purchases[1], first)
    assert accrual.earned[-1][1].rule_ids == (MEMBER_CLOSED,)
    assert (first.balance, first.forfeited) == (ledger.balance, ledger.forfeited)
    # Closing again changes nothing.
    assert close(now, [], ledger, rules, closing) == ([], {}, 0)


def test_references_fit_the_contract():
    assert reference("T0001", 12) == "T0001/rerated-12"
    long = reference("X" * 64, 1)
    assert len(long) == 64 and long.endswith("/rerated-1") and long != reference("X" * 63, 1)


TIERS = ["standard", "gold", "oto_fortune", "private_banking"]


@settings(max_examples=60, deadline=None)
@given(spends=st.lists(st.tuples(st.integers(1, 60), st.integers(1, 9000),
                                 st.sampled_from(["5411", "5812", "7011", "6011"])),
                       min_size=1, max_size=12),
       changes=st.lists(st.tuples(st.integers(0, 60), st.sampled_from(TIERS)), max_size=4),
       cut=st.integers(0, 4), rng=st.randoms(use_true_random=False))
def test_learning_the_history_late_ends_as_in_order_earning(rules, spends, changes, cut, rng):
    """Purchases earned with what was known, then the other tier changes learned one at a
    time in any order: the ledger ends as if every purchase had been earned with the whole
    history."""
    start = datetime(2026, 3, 1, 12, tzinfo=SHANGHAI)
    purchases = sorted((Purchase(f"T{n:02d}", MEMBER, mcc, Decimal(spend),
                                 start + timedelta(days=day))
                        for n, (day, spend, mcc) in enumerate(spends)),
                       key=lambda p: (p.posted_at, p.transaction_id))
    history = sorted({(start.date() + timedelta(days=d)): t for d, t in changes}.items())
    expected, _ = earned_in_order(purchases, history, rules)

    learned = rng.sample(history, len(history))
    ledger, rated = earned_in_order(purchases, sorted(learned[:cut]), rules)
    for n in range(cut, len(history) + 1):
        known = sorted(learned[:n])
        rated = apply(rated, rerate(list(rated.values()), known, ledger, rules, AT)[0])
    assert ledger.balance == expected.balance
    assert {d: p for d, p in ledger.lots.items() if p} == {
        d: p for d, p in expected.lots.items() if p}
    assert {t: r.earning.tier for t, r in rated.items()} == {
        p.transaction_id: tier_on(history, p.posted_at.date()) for p in purchases}
