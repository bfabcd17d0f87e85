"""The programme's figures for one report: what the monthly report shows and its CSV holds.

Made by the analytics service from its read models (sql/, domain/measures), rendered by
report/ (HTML with charts, CSV). Plain values, no I/O. Months are "YYYY-MM"
(Asia/Shanghai); amounts are CNY; rates are fractions 0..1; `tier` is a contracts/tiers.py
code, or "all" for the whole programme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ALL = "all"


@dataclass(frozen=True, slots=True)
class Retention:
    """Members of `tier` active at the start of `month`, and what became of them in it."""
    month: str
    tier: str
    at_start: int
    retained: int
    churned: int

    @property
    def retention_rate(self) -> float:
        return self.retained / self.at_start if self.at_start else 0.0

    @property
    def churn_rate(self) -> float:
        return self.churned / self.at_start if self.at_start else 0.0


@dataclass(frozen=True, slots=True)
class ValueDistribution:
    """Customer lifetime value (CNY) of the members of `tier` at the report's month."""
    tier: str
    members: int
    total: Decimal
    mean: Decimal
    p10: Decimal
    p25: Decimal
    median: Decimal
    p75: Decimal
    p90: Decimal


@dataclass(frozen=True, slots=True)
class Count:
    """How many members were in `group` (a stage or a tier) in `month`."""
    month: str
    group: str
    members: int


@dataclass(frozen=True, slots=True)
class Move:
    """How many members moved from `source` to `target` (stages or tiers) in `month`."""
    month: str
    source: str
    target: str
    members: int


@dataclass(frozen=True, slots=True)
class PointsMonth:
    """Points issued (earned and goodwill), redeemed, expired in `month`, and outstanding at
    its end; `liability` is the outstanding points' CNY value."""
    month: str
    issued: int
    redeemed: int
    expired: int
    outstanding: int
    liability: Decimal


@dataclass(frozen=True, slots=True)
class Redemptions:
    """Confirmed redemptions of one benefit kind over the report's period; `rate` is the
    share of active members who redeemed one of this kind."""
    kind: str
    redemptions: int
    points: int
    members: int
    rate: float


@dataclass(frozen=True, slots=True)
class LoungeUse:
    airport: str
    city: str
    visits: int
    guests: int


@dataclass(frozen=True, slots=True)
class Reach:
    """Notifications in `month`: members messaged, members reached (delivered at least
    once), and members who opted out of marketing."""
    month: str
    messaged: int
    reached: int
    opted_out: int
    members: int

    @property
    def reach_rate(self) -> float:
        return self.reached / self.messaged if self.messaged else 0.0

    @property
    def opt_out_rate(self) -> float:
        return self.opted_out / self.members if self.members else 0.0


@dataclass(frozen=True, slots=True)
class ValuableMember:
    """One of the most valuable members at the report's month (thank-you calls)."""
    rank: int
    member_id: str
    tier: str
    lifetime_value: Decimal
    stage: str


@dataclass(frozen=True, slots=True)
class CallNeeded:
    """A member a relationship manager should call, and why (the event published):
    `reason` is the reasons joined by ","; the stage and lifetime value at `month`."""
    member_id: str
    tier: str
    reason: str
    month: str
    stage: str = ""
    lifetime_value: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class ProgrammeFigures:
    """Everything in one month's report; the series cover `months` (oldest first), the
    distributions and lists are as of `month` (the last of `months`)."""
    month: str
    months: list[str]
    tiers: list[str]
    retention: list[Retention] = field(default_factory=list)
    lifetime_value: list[ValueDistribution] = field(default_factory=list)
    stages: list[Count] = field(default_factory=list)
    stage_moves: list[Move] = field(default_factory=list)
    tier_mix: list[Count] = field(default_factory=list)
    tier_moves: list[Move] = field(default_factory=list)
    points: list[PointsMonth] = field(default_factory=list)
    #: Points expired over points issued, over the report's months.
    breakage_rate: float = 0.0
    redemptions: list[Redemptions] = field(default_factory=list)
    lounges: list[LoungeUse] = field(default_factory=list)
    reach: list[Reach] = field(default_factory=list)
    most_valuable: list[ValuableMember] = field(default_factory=list)
    calls: list[CallNeeded] = field(default_factory=list)
