"""What the read models hold, as plain values for the measures: each member's enrolment,
closure and tier changes, what they did each month, and the confirmed redemptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from contracts.tiers import ENROLMENT_TIER

from . import months as m


@dataclass(frozen=True, slots=True)
class Activity:
    """One member's month (member_months); spend and assets in CNY."""
    purchases: int = 0
    spend: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)
    assets: Decimal | None = None
    redemptions: int = 0
    salons: int = 0
    points_issued: int = 0
    points_redeemed: int = 0
    points_expired: int = 0
    points_forfeited: int = 0
    messages_sent: int = 0
    messages_delivered: int = 0
    opt_outs: int = 0

    @property
    def qualifying(self) -> bool:
        """Qualifying activity: a purchase, a redemption or a salon attended."""
        return bool(self.purchases or self.redemptions or self.salons)

    @property
    def net_spend(self) -> Decimal:
        return max(self.spend - self.refunded, Decimal(0))


NOTHING = Activity()


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    #: None when no member.enrolled arrived: the first month with activity stands in.
    enrolled_month: str | None = None
    enrolled_tier: str = ENROLMENT_TIER
    closed_month: str | None = None
    #: (effective day, tier), oldest first.
    tier_changes: tuple[tuple[date, str], ...] = ()
    months: dict[str, Activity] = field(default_factory=dict)

    @property
    def start(self) -> str | None:
        return self.enrolled_month or (min(self.months) if self.months else None)

    def activity(self, month: str) -> Activity:
        return self.months.get(month, NOTHING)

    def tier(self, month: str) -> str:
        """The tier at the end of `month`."""
        end = m.next_first_day(month)
        tier = self.enrolled_tier
        for day, new_tier in self.tier_changes:
            if day < end:
                tier = new_tier
        return tier

    def open_at_end(self, month: str) -> bool:
        """Enrolled by the end of `month` and not closed in it or before."""
        start = self.start
        return (start is not None and start <= month
                and (self.closed_month is None or self.closed_month > month))

    def tenure(self, month: str) -> int:
        """1 in the enrolment month, 2 in the next, ..."""
        return m.between(self.start, month) + 1 if self.start else 0

    def lapsed(self, month: str, inactive_months: int) -> bool:
        """No qualifying activity in the `inactive_months` months ending with `month`, all
        of them after the enrolment month (which counts as activity)."""
        start = self.start
        if start is None or m.between(start, month) < inactive_months:
            return False
        return not any(self.activity(m.add(month, -n)).qualifying
                       for n in range(inactive_months))


@dataclass(frozen=True, slots=True)
class Redemption:
    member_id: str
    month: str
    kind: str
    airport: str | None
    persons: int
    points: int


@dataclass(frozen=True, slots=True)
class PointsTotals:
    """The programme's points movements in one month."""
    issued: int = 0
    redeemed: int = 0
    expired: int = 0
    forfeited: int = 0


@dataclass(frozen=True, slots=True)
class History:
    members: dict[str, Member]
    redemptions: list[Redemption] = field(default_factory=list)
    #: Every month's totals since the programme began (outstanding points need them all).
    points: dict[str, PointsTotals] = field(default_factory=dict)
    #: Airport code to city, for lounge use.
    cities: dict[str, str] = field(default_factory=dict)
