"""A closed member's ledger whatever order the member events come in among the card facts
(issue 13): the domain driven as the handlers drive it, with what the SQL layer would read
back kept in memory. Card facts keep their order (one topic, one partition per member);
tier changes and the closure come anywhere among them, in any order: the balance, the
forfeiture, what each purchase nets, each purchase's rating and each month's bonus are those
of in-order delivery."""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.points.domain.earning import Accrual, Earning, Purchase
from services.points.domain.ledger import MemberLedger
from services.points.domain.refunds import Refundable
from services.points.domain.rerating import Rated, close, rerate
from tests.unit.points.purchases import SHANGHAI

MEMBER = "C0000000001"
START = datetime(2026, 3, 1, 12, tzinfo=SHANGHAI)
TIERS = ["standard", "gold", "oto_fortune", "private_banking"]


@dataclass
class Points:
    """One member's points service: the ledger, and the rows the SQL layer keeps."""

    rules: object
    ledger: MemberLedger = field(default_factory=lambda: MemberLedger(MEMBER))
    history: dict[date, str] = field(default_factory=dict)
    rated: dict[str, Rated] = field(default_factory=dict)
    refunds: list[tuple[str, str, Decimal, int, datetime]] = field(default_factory=list)
    parked: list[tuple[str, str, Decimal, datetime]] = field(default_factory=list)
    bonus: dict[date, int] = field(default_factory=dict)
    closed_at: datetime | None = None

    def tiers(self) -> list[tuple[date, str]]:
        return sorted(self.history.items())

    def read(self, rated: Rated) -> Rated:
        """A purchase as sql/rerating.py reads it: with its refunds so far."""
        mine = [r for r in self.refunds if r[1] == rated.purchase.transaction_id]
        after = sum((r[2] for r in mine if self.closed_at and r[4] >= self.closed_at),
                    Decimal(0))
        return replace(rated, refunded=sum((r[2] for r in mine), Decimal(0)),
                       reversed=sum(r[3] for r in mine) + rated.reversed_adjustment,
                       refunded_after_closure=after)

    def purchase(self, p: Purchase) -> None:
        accrual = Accrual(self.rules, {MEMBER: self.tiers()},
                          {(MEMBER, m): b for m, b in self.bonus.items()})
        earning = accrual.earn(p, self.ledger)
        self.rated[p.transaction_id] = Rated(p, earning, Decimal(0), 0)
        if earning.bonus:
            self.bonus[earning.month] = self.bonus.get(earning.month, 0) + earning.bonus
        waiting = [r for r in self.parked if r[1] == p.transaction_id]
        self.parked = [r for r in self.parked if r[1] != p.transaction_id]
        for refund in waiting:
            self.refund(*refund)

    def refund(self, refund_id: str, transaction_id: str, amount: Decimal,
               at: datetime) -> None:
        if transaction_id not in self.rated:
            self.parked.append((refund_id, transaction_id, amount, at))
            return
        now = self.read(self.rated[transaction_id])
        reversal = Refundable(transaction_id, MEMBER, now.purchase.spend_cny,
                              now.earning.points, now.earning.expires_on, now.refunded,
                              now.reversed, now.refunded_after_closure).refund(
            self.ledger, refund_id, amount, at)
        self.refunds.append((refund_id, transaction_id, amount, reversal.points, at))

    def tier_change(self, day: date, tier: str) -> None:
        self.history[day] = tier
        if self.rated:
            self._apply(*rerate(self._all(), self.tiers(), self.ledger, self.rules, START))

    def close(self, at: datetime) -> None:
        if self.ledger.closed:
            return
        self.closed_at = at
        reratings, bonus, _ = close(self._all(), self.tiers(), self.ledger, self.rules, at)
        self._apply(reratings, bonus)

    def _all(self) -> list[Rated]:
        return [self.read(r) for r in self.rated.values()]

    def _apply(self, reratings, bonus: dict[date, int]) -> None:
        for r in reratings:
            self.rated[r.rated.purchase.transaction_id] = Rated(
                r.rated.purchase, r.earning, Decimal(0), 0, r.revision, r.reversed_adjustment)
        self.bonus.update(bonus)

    def outcome(self) -> tuple:
        net: dict[str, int] = defaultdict(int)
        purchase_of = {r[0]: r[1] for r in self.refunds}
        for p in self.ledger.postings:
            if p.kind in ("earn", "reverse"):
                reference = p.reference.split("/rerated-")[0]
                net[purchase_of.get(reference, reference)] += p.points
        ratings = {t: _rating(r.earning) for t, r in self.rated.items()}
        return (self.ledger.balance, self.ledger.forfeited, {t: n for t, n in net.items() if n},
                ratings, {m: b for m, b in self.bonus.items() if b})


def _rating(e: Earning) -> tuple:
    return e.points, e.tier, e.rule_ids


facts = st.lists(st.tuples(st.integers(0, 50), st.integers(1, 6000),
                           st.sampled_from(["5411", "5812", "7011"]),
                           st.one_of(st.none(), st.tuples(st.integers(1, 20),
                                                          st.integers(1, 100)))),
                 min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(purchases=facts, changes=st.lists(st.tuples(st.integers(0, 50), st.sampled_from(TIERS)),
                                         max_size=3),
       closing=st.integers(0, 55), rng=st.randoms(use_true_random=False))
def test_member_events_anywhere_among_the_card_facts_give_the_in_order_ledger(
        rules, purchases, changes, closing, rng):
    """Purchases (some refunded, in part, days later) before and after the closure; tier
    changes for any day of the period."""
    closed_at = START + timedelta(days=closing, hours=6)
    card: list[tuple[datetime, str, tuple]] = []
    for n, (day, spend, mcc, refunded) in enumerate(purchases):
        p = Purchase(f"T{n}", MEMBER, mcc, Decimal(spend), START + timedelta(days=day))
        card.append((p.posted_at, "purchase", (p,)))
        if refunded:
            later, percent = refunded
            card.append((p.posted_at + timedelta(days=later), "refund",
                         (f"R{n}", p.transaction_id, Decimal(spend) * percent / 100,
                          p.posted_at + timedelta(days=later))))
    card.sort(key=lambda f: (f[0], f[1] == "refund"))  # the topic's order: by date
    # One decision per day (two for a day are a correction: the last received wins).
    members = [("tier_change", (START.date() + timedelta(days=d), t))
               for d, t in dict(changes).items()]

    def run(order: list[tuple[str, tuple]]) -> tuple:
        points = Points(rules)
        for kind, args in order:
            getattr(points, kind)(*args)
        return points.outcome()

    # In order: the tier decisions known first, the closure where its date falls.
    in_order = [*members, *((k, a) for at, k, a in card if at < closed_at),
                ("close", (closed_at,)), *((k, a) for at, k, a in card if at >= closed_at)]
    expected = run(in_order)

    # The member events shuffled, then dealt anywhere among the card facts (kept in order).
    events = rng.sample([*members, ("close", (closed_at,))], len(members) + 1)
    slots = sorted(rng.randint(0, len(card)) for _ in events)
    order: list[tuple[str, tuple]] = []
    for i, (_, kind, args) in enumerate([*card, (None, None, None)]):
        order += [e for e, s in zip(events, slots, strict=True) if s == i]
        if kind is not None:
            order.append((kind, args))
    assert run(order) == expected
    balance, forfeited = expected[:2]
    assert balance <= 0 and forfeited >= 0
