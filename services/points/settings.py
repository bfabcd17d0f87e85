"""The points service's settings: the shared ones plus its own port, programme, jobs and
goodwill rules, and the loading of the programme file they name."""

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import Field, StringConstraints

from runtime.auth import AuthSettings

from .domain.goodwill import GoodwillPolicy
from .domain.rules import EarningRules, parse_rules

PROGRAMME_FILE = Path(__file__).parent / "programme.toml"
ReasonCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
#: Why staff award goodwill points, by default (GOODWILL_REASONS replaces the list).
GOODWILL_REASONS = ("service_failure", "system_error", "points_missing", "benefit_unavailable",
                    "partner_service", "long_wait", "staff_error")


class PointsSettings(AuthSettings):
    http_port: int = Field(default=8002, ge=1, le=65535)
    #: The earning rules (PROGRAMME_FILE); validated when the service starts.
    programme_file: Path = PROGRAMME_FILE
    #: Consumers of the card-transaction topic in this process (at most its partitions).
    #: Scale by processes first: measured with two processes, one consumer each took 8,400
    #: events/s and two each 6,600 (more group members, more rebalancing and replays).
    card_consumers: int = Field(default=1, ge=1, le=32)
    #: How long a consumer's poll waits to fill a batch. After an empty poll FastStream also
    #: sleeps this long, and a redemption's debit is waited for by a partner's HTTP request
    #: (rewards uses the same value).
    batch_timeout_ms: int = Field(default=10, ge=1)
    #: How often the expiry job looks for due lots (it is cheap when nothing is due).
    expiry_check_seconds: float = Field(default=3600, gt=0)
    #: How often the monthly spending-profile job looks whether this month's ran.
    spending_profile_check_seconds: float = Field(default=3600, gt=0)
    #: Members hear this many days ahead that points will expire.
    expiry_notice_days: int = Field(default=30, ge=1, le=366)
    #: How long a refund waits for its purchase before it goes to operations (on the
    #: dead-letter topic); it stays parked, and a purchase arriving later still applies it.
    refund_wait_seconds: float = Field(default=86_400, gt=0)
    #: What one point is worth to the bank, for the liability's CNY equivalent (metrics).
    point_value_cny: Decimal = Field(default=Decimal("0.01"), ge=0)
    #: Goodwill points for complaint recovery (domain/goodwill.py): the reason codes staff
    #: choose from (a JSON list in the environment), the size of an award that waits for a
    #: second staff member's approval, and the limits: per award, per member and calendar
    #: year, and for all members in a calendar year (Asia/Shanghai).
    goodwill_reasons: list[ReasonCode] = Field(default=list(GOODWILL_REASONS), min_length=1)
    goodwill_approval_above_points: int = Field(default=2_000, ge=0)
    goodwill_max_points: int = Field(default=20_000, ge=1)
    goodwill_member_yearly_points: int = Field(default=30_000, ge=1)
    goodwill_yearly_points: int = Field(default=5_000_000, ge=1)

    def goodwill_policy(self) -> GoodwillPolicy:
        return GoodwillPolicy(
            reasons=frozenset(self.goodwill_reasons),
            approval_above=self.goodwill_approval_above_points,
            max_points=self.goodwill_max_points,
            member_yearly=self.goodwill_member_yearly_points,
            programme_yearly=self.goodwill_yearly_points)


def load_rules(path: Path = PROGRAMME_FILE) -> EarningRules:
    """The programme file, validated: a bad one raises pydantic's ValidationError."""
    with path.open("rb") as file:
        return parse_rules(tomllib.load(file))
