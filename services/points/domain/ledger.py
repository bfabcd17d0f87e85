"""A member's points as the ledger sees them: a balance and lots by expiry date. Every
change is a posting (member against a programme account) that the SQL layer appends.

Pure: handlers load the ledgers of a batch's members (locked), apply the batch's facts in
order, then persist the postings and the new balances and lots in one go.

The balance equals the lots while it is positive. Only a reversal can take it below zero
(the points it reverses were already spent); later credits pay that debt before they open
a lot, so the lots always add up to max(balance, 0).

A closure forfeits what is positive. A card fact dated before the closure that arrives after
it (or a tier change re-rating such facts) moves points as it would have before the
closure, and `true_up` then leaves the closed ledger where it would stand had the fact come
first: whatever order the facts arrive in, the member's balance ends at min(B, 0) and the
forfeitures at max(B, 0), B being what the facts before the closure add up to. A card fact
dated after the closure counts nothing, even one that arrived before it (the closure
re-rates it to nothing first: domain/rerating.py `close`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

Kind = Literal["earn", "reverse", "debit", "refund", "expire", "forfeit", "goodwill"]
#: The programme account each kind of posting runs against.
COUNTER_ACCOUNT: dict[Kind, str] = {
    "earn": "programme:issuance",
    "reverse": "programme:issuance",
    "debit": "programme:redemption",
    "refund": "programme:redemption",
    "expire": "programme:expiry",
    "forfeit": "programme:forfeiture",
    "goodwill": "programme:goodwill",  # staff awards for complaint recovery
}


def expiry_reference(member_id: str, day: date, at: datetime, earlier: int = 0) -> str:
    """The transfer reference of the lot of `day` expiring on `at`'s date, the
    (`earlier` + 1)-th time that date."""
    reference = f"{member_id}:{day.isoformat()}:{at.date().isoformat()}"
    return f"{reference}/{earlier + 1}" if earlier else reference


@dataclass(frozen=True, slots=True)
class Posting:
    kind: Kind
    reference: str  # the business id: transaction, refund, redemption, expiry date
    member_id: str
    points: int  # > 0 credits the member, < 0 debits it
    occurred_at: datetime


@dataclass
class MemberLedger:
    member_id: str
    balance: int = 0
    lots: dict[date, int] = field(default_factory=dict)
    closed: bool = False
    #: When the member closed (facts dated before it still count), if closed.
    closed_at: datetime | None = None
    #: Points forfeited so far, net of any given back (`true_up`).
    forfeited: int = 0
    postings: list[Posting] = field(default_factory=list)
    #: Lots changed since loading; only these are written back.
    touched: set[date] = field(default_factory=set)

    # ------------------------------------------------------------------ reading

    def available(self, today: date) -> int:
        """What a debit may spend: the lots not yet past their expiry date."""
        return sum(points for day, points in self.lots.items() if day >= today)

    # ------------------------------------------------------------------ changes

    def credit(self, kind: Kind, reference: str, points: int, expires_on: date,
               at: datetime) -> None:
        """Points in: a debt (negative balance) is paid first, the rest opens or tops up the
        lot that expires on `expires_on`."""
        if points <= 0:
            raise ValueError("a credit is a positive number of points")
        into_lot = points + min(self.balance, 0)
        self.balance += points
        if into_lot > 0:
            self._add(expires_on, into_lot)
        self.postings.append(Posting(kind, reference, self.member_id, points, at))

    def reverse(self, reference: str, points: int, from_lot: date, at: datetime) -> None:
        """Points taken back: from their own lot first, then the nearest-expiring ones; what
        the lots cannot cover becomes a debt."""
        self._take(points, first=from_lot, today=None)
        self.balance -= points
        self.postings.append(Posting("reverse", reference, self.member_id, -points, at))

    def debit(self, reference: str, points: int, today: date,
              at: datetime) -> dict[date, int]:
        """Spend `points` from the nearest-expiring live lots; the caller checked
        `available`. Returns what each lot gave, for a later refund."""
        if points > self.available(today):
            raise ValueError("a debit must not overdraw")
        taken = self._take(points, first=None, today=today)
        self.balance -= points
        self.postings.append(Posting("debit", reference, self.member_id, -points, at))
        return taken

    def refund(self, reference: str, taken: dict[date, int], at: datetime) -> int:
        """A cancelled debit's points back to the lots they came from."""
        points = 0
        for day, part in sorted(taken.items()):
            into_lot = part + min(self.balance, 0)
            self.balance += part
            points += part
            if into_lot > 0:
                self._add(day, into_lot)
        self.postings.append(Posting("refund", reference, self.member_id, points, at))
        return points

    def expire(self, day: date, at: datetime, earlier: int = 0) -> int:
        """The lot of `day` expires, whatever is left of it. `earlier`: how often it expired
        already on `at`'s date (a cancelled debit refunded into it since): each expiry is a
        transfer of its own, `<member>:<day>:<date>`, then `/2`, `/3`..."""
        points = self.lots.get(day, 0)
        if points:
            self._add(day, -points)
            self.balance -= points
            reference = expiry_reference(self.member_id, day, at, earlier)
            self.postings.append(Posting("expire", reference, self.member_id, -points, at))
        return points

    def expire_due(self, today: date, at: datetime,
                   earlier: Mapping[date, int] | None = None) -> list[tuple[date, int]]:
        """Every lot past its day (points last through their expiry date) expires:
        (day, points) of each, oldest first. `earlier`: see `expire`."""
        due = sorted(day for day, points in self.lots.items() if day < today and points > 0)
        return [(day, self.expire(day, at, (earlier or {}).get(day, 0))) for day in due]

    def close(self, at: datetime) -> int:
        """The member left: what remains is forfeited, once (closing again, e.g. re-sent
        under a new event id, forfeits nothing). Returns the points forfeited."""
        if self.closed:
            return 0
        self.closed_at = at
        return self.forfeit(self.member_id, at)

    def before_closure(self, at: datetime) -> bool:
        """Whether a fact dated `at` counts as if it had come before any closure (known, or
        being applied: `closed_at` is set first)."""
        if self.closed_at is None:
            return not self.closed
        return at < self.closed_at

    def true_up(self, reference: str, at: datetime) -> int:
        """A closed ledger after a late fact: what is positive is forfeited, and a debt the
        fact made (a late reversal) is paid back from what was forfeited, as far as it goes.
        Returns the points forfeited (negative: given back)."""
        target = min(self.balance + self.forfeited, 0)
        moved = self.balance - target
        if moved > 0:
            return self.forfeit(reference, at)  # the balance is positive: all of it goes
        if moved < 0:
            self.balance -= moved  # into a debt or up to zero: no lot to open
            self.forfeited += moved
            self.postings.append(Posting("forfeit", reference, self.member_id, -moved, at))
        return moved

    def forfeit(self, reference: str, at: datetime) -> int:
        """The member closed: every remaining point goes (a debt stays as it is)."""
        self.closed = True
        points = max(self.balance, 0)
        if points:
            for day in [d for d, p in self.lots.items() if p]:
                self._add(day, -self.lots[day])
            self.balance -= points
            self.forfeited += points
            self.postings.append(Posting("forfeit", reference, self.member_id, -points, at))
        return points

    # ------------------------------------------------------------------ lots

    def _add(self, day: date, points: int) -> None:
        self.lots[day] = self.lots.get(day, 0) + points
        self.touched.add(day)

    def _take(self, points: int, *, first: date | None, today: date | None) -> dict[date, int]:
        order = sorted(d for d, p in self.lots.items()
                       if p > 0 and d != first and (today is None or d >= today))
        if first is not None and self.lots.get(first, 0) > 0:
            order.insert(0, first)
        taken: dict[date, int] = {}
        left = points
        for day in order:
            if left == 0:
                break
            part = min(left, self.lots[day])
            self._add(day, -part)
            taken[day] = part
            left -= part
        return taken
