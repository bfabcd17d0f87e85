"""Redemption debits: a points-paid redemption is debited when the member's unexpired points
cover it and rejected otherwise, one decision per redemption id whatever is re-sent; a
cancelled redemption gets its points back, once, into the lots they came from; if the
member has closed meanwhile, they are forfeited at once, so a closed ledger stays at zero.

Pure: the handler loads the batch's members' ledgers and the debits already decided (both
locked), and writes back what the book recorded (`decided`, `refunded`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from .ledger import MemberLedger

Outcome = Literal["debited", "rejected"]
RejectReason = Literal["unknown_member", "member_closed", "insufficient_points"]


@dataclass(slots=True)
class Debit:
    debit_id: str  # the redemption id
    member_id: str
    points: int
    outcome: Outcome
    reason: RejectReason | None = None
    #: What each lot gave (a debited one), for a refund.
    lots: dict[date, int] = field(default_factory=dict)
    refunded: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """A debit request's answer: the debit, and the member's balance after it."""

    debit: Debit
    balance: int


class DebitBook:
    def __init__(self, ledgers: Mapping[str, MemberLedger], decided: Iterable[Debit]) -> None:
        #: The members' ledgers; a member the ledger has never seen is not in it.
        self.ledgers = ledgers
        self.debits = {debit.debit_id: debit for debit in decided}
        #: Decided and refunded by this book: what the SQL layer writes.
        self.decided: list[Debit] = []
        self.refunded: list[Debit] = []
        #: Points forfeited at once by redemption id: refunded to a member who had closed.
        self.forfeited: dict[str, int] = {}

    def request(self, debit_id: str, member_id: str, points: int, today: date,
                at: datetime) -> Decision | None:
        """Debit `points` from the nearest-expiring lots live on `today`, or reject; None
        when this redemption was decided before."""
        if debit_id in self.debits:
            return None
        ledger = self.ledgers.get(member_id)
        reason: RejectReason | None = (
            "unknown_member" if ledger is None else
            "member_closed" if ledger.closed else
            "insufficient_points" if ledger.available(today) < points else None)
        debit = Debit(debit_id, member_id, points, "rejected" if reason else "debited", reason)
        if ledger is not None and reason is None:
            debit.lots = ledger.debit(debit_id, points, today, at)
        self.debits[debit_id] = debit
        self.decided.append(debit)
        return Decision(debit, ledger.balance if ledger else 0)

    def cancel(self, debit_id: str, member_id: str, at: datetime) -> int | None:
        """A cancelled redemption's debit goes back into the lots it drew on, and is forfeited
        at once (`forfeited`) if the member has closed. Returns the points refunded; None
        when there is nothing to refund (see `state`)."""
        debit = self.debits.get(debit_id)
        if debit is None or debit.outcome != "debited" or debit.refunded:
            return None
        ledger = self.ledgers[member_id]
        points = ledger.refund(debit_id, debit.lots, at)
        if ledger.closed and (forfeited := ledger.forfeit(debit_id, at)):
            self.forfeited[debit_id] = forfeited
        debit.refunded = True
        self.refunded.append(debit)
        return points

    def state(self, debit_id: str) -> str:
        """For the logs: no debit, rejected, refunded or debited."""
        debit = self.debits.get(debit_id)
        if debit is None:
            return "no debit"
        return "refunded" if debit.refunded else debit.outcome
