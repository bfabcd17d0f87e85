"""How many points a refund takes back, and a purchase's refunds so far.

Proportional and cumulative: after refunds totalling R of a purchase of spend S that earned
E points, floor(E * min(R, S) / S) points are reversed in all. Each refund reverses the
difference from what earlier refunds reversed, so however a refund is split the total is
the same, and it never exceeds E (a refund above the spend counts as the whole spend).

A closed member's points were all forfeited when they left, these included: a refund dated
after the closure takes nothing back (a debt in a closed ledger could never be paid) and its
amount does not count towards later refunds' share (one that came before the closure is
undone when it comes: domain/rerating.py `close`). One dated before it reverses as it
would have then, however late it arrives, and the closed ledger is trued up
(domain/ledger.py): what it took comes back out of the forfeiture (`Reversal.forfeited`,
negative).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .ledger import MemberLedger


def points_to_reverse(earned: int, spend: Decimal, refunded_before: Decimal,
                      reversed_before: int, amount: Decimal) -> int:
    if spend <= 0 or earned <= 0:
        return 0
    refunded = min(refunded_before + amount, spend)
    due = math.floor(earned * refunded / spend)
    return max(0, due - reversed_before)


@dataclass(frozen=True, slots=True)
class Reversal:
    """A refund applied to its purchase, and the points it took back (maybe none)."""

    refund_id: str
    transaction_id: str
    #: The purchase's member (whom the points were credited to).
    member_id: str
    amount: Decimal
    points: int
    at: datetime
    #: What the closed ledger's true-up forfeited (< 0: gave back of the forfeiture).
    forfeited: int = 0


@dataclass(slots=True)
class Refundable:
    """A purchase that refunds may reverse: what it earned, and what was refunded so far."""

    transaction_id: str
    member_id: str
    spend: Decimal
    earned: int
    expires_on: date
    refunded: Decimal
    reversed: int
    #: Of `refunded`, what refunds dated from the member's closure on refunded.
    after_closure: Decimal = Decimal(0)

    def refund(self, ledger: MemberLedger, refund_id: str, amount: Decimal,
               at: datetime) -> Reversal:
        """Take back the refund's share of the points, from `ledger` (the member's), first
        from the purchase's own lot; nothing if dated after the member closed. Later refunds
        of the purchase see this one."""
        self.refunded += amount
        if not ledger.before_closure(at):
            self.after_closure += amount
            return Reversal(refund_id, self.transaction_id, self.member_id, amount, 0, at)
        points = points_to_reverse(self.earned, self.spend,
                                   self.refunded - amount - self.after_closure,
                                   self.reversed, amount)
        self.reversed += points
        forfeited = 0
        if points:
            ledger.reverse(refund_id, points, self.expires_on, at)
            if ledger.closed and ledger.closed_at is not None:
                forfeited = ledger.true_up(refund_id, ledger.closed_at)
        return Reversal(refund_id, self.transaction_id, self.member_id, amount, points, at,
                        forfeited)
