"""A redemption: what a partner's request decides from the facts loaded for it, and the
events it causes (recorded on the aggregate; the handler emits them).

A request for a lounge visit or an offer is decided in this order: the item exists and is
the partner's to redeem, the code is live, the member is not closed, then the item's rule
(`benefits.lounge_visit`, `offers.redeem_offer`) on what the member used of it this period.
It costs no points: confirmed at once. It costs points: pending until the points service
answers (the saga), which `settle` turns into confirmed or rejected; one still pending after
the configured bound is rejected `timed_out` (`timed_out`); its partner may cancel it while
it waits. A debit that lands after either (`late_debit`) is refunded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from contracts.base import Event
from contracts.points.v1 import PointsDebited, PointsDebitRejected, PointsRefunded
from contracts.rewards.v1 import (
    RedemptionCancelled,
    RedemptionConfirmed,
    RedemptionRefundRequested,
    RedemptionRejected,
    RedemptionRequested,
)
from contracts.tiers import ENROLMENT_TIER, Tier

from .benefits import LOUNGE, Benefits, lounge_period, lounge_visit
from .errors import refuse
from .offers import Offer, period_key, redeem_offer
from .partners import Partner
from .references import reference

Kind = Literal["lounge", "offer", "donation"]  # a donation: domain/donations.py
Status = Literal["pending", "confirmed", "rejected", "cancelled"]
CodeState = Literal["malformed", "unknown", "used", "expired", "live"]
#: A usage counter: (item, period), e.g. ("lounge", "2026") or ("off_coffee_00_0", "2026-11").
Counter = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Lounge:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Facts:
    """What a redemption request's one load found, locked until its commit."""

    code: CodeState
    member_id: str | None = None
    #: None: a member the accounts service has not told about yet.
    tier: Tier | None = None
    closed: bool = False
    #: What the member used of the item in the period.
    used: int = 0


def member_tier(tier: Tier | None, closed: bool) -> Tier:
    """The tier benefits follow; a closed member is refused. Not told about yet (the
    accounts event may lag behind the app): the tier of enrolment."""
    if tier is None:
        return ENROLMENT_TIER
    if closed:
        raise refuse("member_closed", "the member's benefits have ended")
    return tier


def holder(facts: Facts) -> tuple[str, Tier]:
    """The member a live code stands for, and their tier."""
    if facts.code == "malformed":
        raise refuse("code_invalid", "not a redemption code")
    if facts.code == "unknown":
        raise refuse("code_invalid", "unknown redemption code")
    if facts.code == "used":
        raise refuse("code_used", "this redemption code was already used")
    if facts.code == "expired":
        raise refuse("code_expired", "this redemption code has expired")
    assert facts.member_id is not None  # a live code has its member
    return facts.member_id, member_tier(facts.tier, facts.closed)


def lounge_counter(today: date) -> Counter:
    return LOUNGE, lounge_period(today)


def offer_counter(offer: Offer, today: date) -> Counter:
    return offer.id, period_key(offer.period, today)


@dataclass(slots=True)
class Redemption:
    id: str
    partner_id: str
    member_id: str
    kind: Kind
    item_id: str
    title: str
    persons: int
    points: int           # asked of the points service; 0 if none
    usage_item: str       # what it took from the member's usage, given back on
    usage_period: str     # rejection or cancellation
    usage_taken: int
    status: Status
    valid_on: date | None
    created_at: datetime
    reason: str | None = None
    refund_status: Literal["requested", "refunded"] | None = None
    settled_at: datetime | None = None
    cancelled_at: datetime | None = None
    #: The title in English where it has one of its own (a donation's charity).
    title_en: str | None = None
    #: What it caused since it was loaded or made, to emit.
    events: list[Event] = field(default_factory=list, repr=False, compare=False)
    #: Made now: the member's usage counter values (lowest, highest; None: any) it was
    #: decided for; it is saved only while the counter is within them.
    holds_for: tuple[int, int | None] = field(default=(0, None), repr=False, compare=False)

    @classmethod
    def make(cls, *, id: str, partner: Partner, member_id: str, kind: Kind, item_id: str,
             title: str, persons: int, points: int, counter: Counter, taken: int,
             valid_on: date | None, now: datetime,
             holds_for: tuple[int, int | None] = (0, None)) -> Redemption:
        """Confirmed at once if it costs no points; else pending, asking for the debit."""
        r = cls(id=id, partner_id=partner.id, member_id=member_id, kind=kind, item_id=item_id,
                title=title, persons=persons, points=points, usage_item=counter[0],
                usage_period=counter[1], usage_taken=taken,
                status="pending" if points else "confirmed", valid_on=valid_on,
                created_at=now, settled_at=None if points else now, holds_for=holds_for)
        common = dict(member_id=member_id, redemption_id=id, partner_id=partner.id, kind=kind,
                      item_id=item_id, persons=persons, points=points)
        if points:
            r.events.append(RedemptionRequested(**common, requested_at=now))
        else:
            r.events.append(RedemptionConfirmed(**common, title=title, valid_on=valid_on,
                                                confirmed_at=now, reference=reference(id)))
        return r

    def cancel(self, now: datetime) -> None:
        """A confirmed redemption: its points (if any) are to be refunded. A pending one: no
        debit yet to refund (one that lands later is refunded then: `late_debit`)."""
        if self.status not in ("confirmed", "pending"):
            why = f" ({self.reason})" if self.reason else ""
            raise refuse("not_cancellable",
                         f"redemption {self.id} is {self.status}{why}: it cannot be cancelled")
        debited = self.points if self.status == "confirmed" else 0
        self.status, self.cancelled_at = "cancelled", now
        self.refund_status = "requested" if debited else None
        self.events.append(RedemptionCancelled(
            member_id=self.member_id, redemption_id=self.id, title=self.title,
            points_to_refund=debited, cancelled_at=now, reference=reference(self.id)))

    def late_debit(self, now: datetime) -> bool:
        """The points service debited a redemption that no longer waited for it (timed out,
        or cancelled while pending): refunded, once, by a `redemption.refund-requested`; not
        a second cancellation, its story already ended (rejected or cancelled). True if it
        asked for the refund now."""
        gave_up = (self.status == "rejected" and self.reason == "timed_out"
                   or self.status == "cancelled" and self.settled_at is None)
        if not (gave_up and self.points and self.refund_status is None):
            return False
        self.refund_status = "requested"
        self.events.append(RedemptionRefundRequested(
            member_id=self.member_id, redemption_id=self.id, points=self.points,
            reason="timed_out" if self.status == "rejected" else "cancelled",
            requested_at=now))
        return True

    def settled(self, now: datetime) -> None:
        """Record the event of a redemption the points service's answer just settled."""
        at = self.settled_at or now
        if self.status == "confirmed":
            self.events.append(RedemptionConfirmed(
                member_id=self.member_id, redemption_id=self.id, partner_id=self.partner_id,
                kind=self.kind, item_id=self.item_id, title=self.title, persons=self.persons,
                points=self.points, valid_on=self.valid_on, confirmed_at=at,
                title_en=self.title_en, reference=reference(self.id)))
        else:
            self.events.append(RedemptionRejected(
                member_id=self.member_id, redemption_id=self.id, reason=self.reason,
                rejected_at=at))


def lounge_visit_redemption(benefits: Benefits, partner: Partner, lounge: Lounge | None,
                            lounge_id: str, *, guests: int, allow_points: bool, facts: Facts,
                            id: str, now: datetime) -> Redemption:
    if lounge is None:
        raise refuse("unknown_lounge", f"no lounge {lounge_id}")
    partner.require_item("lounge", lounge.id)
    member_id, tier = holder(facts)
    persons = 1 + guests
    decision = lounge_visit(benefits, tier, facts.used, persons, allow_points)
    today = benefits.today(now)
    return Redemption.make(
        id=id, partner=partner, member_id=member_id, kind="lounge", item_id=lounge.id,
        title=lounge.name, persons=persons, points=decision.points,
        counter=lounge_counter(today), taken=decision.taken, valid_on=today, now=now,
        holds_for=decision.holds_for)


def offer_redemption(partner: Partner, offer: Offer | None, offer_id: str, *, facts: Facts,
                     today: date, id: str, now: datetime) -> Redemption:
    if offer is None:
        raise refuse("unknown_offer", f"no offer {offer_id}")
    partner.require_item("offer", offer.id)
    member_id, tier = holder(facts)
    points = redeem_offer(offer, tier, today, facts.used)
    return Redemption.make(
        id=id, partner=partner, member_id=member_id, kind="offer", item_id=offer.id,
        title=offer.title[:64], persons=1, points=points, counter=offer_counter(offer, today),
        taken=1, valid_on=None, now=now, holds_for=(facts.used, facts.used))


def timed_out(pending: Iterable[Redemption], now: datetime, bound: timedelta
              ) -> dict[str, tuple[Status, str]]:
    """The outcomes (as `Settlement.outcomes`) of the pending redemptions older than
    `bound`: rejected, `timed_out`."""
    return {r.id: ("rejected", "timed_out") for r in pending
            if r.status == "pending" and now - r.created_at >= bound}


@dataclass
class Settlement:
    """What a batch of the points service's answers settles."""

    #: Redemption id -> (confirmed | rejected, reason): the first answer for each wins.
    outcomes: dict[str, tuple[Status, str | None]] = field(default_factory=dict)
    #: Redemption id -> the answer that settles it (the cause of the event it records).
    causes: dict[str, int] = field(default_factory=dict)
    #: Redemptions whose points came back after a cancellation.
    refunded: list[str] = field(default_factory=list)


def settle(answers: Iterable[PointsDebited | PointsDebitRejected | PointsRefunded]
           ) -> Settlement:
    """Debits of other origins (not ours) match no pending redemption and change nothing;
    `causes` holds each outcome's position in `answers`."""
    s = Settlement()
    for i, e in enumerate(answers):
        if isinstance(e, PointsRefunded):
            s.refunded.append(e.debit_id)
            continue
        if e.debit_id not in s.outcomes:
            s.causes[e.debit_id] = i
            s.outcomes[e.debit_id] = (("confirmed", None) if isinstance(e, PointsDebited)
                                      else ("rejected", e.reason))
    return s
