"""The points service's settings: the shared ones plus its own port, programme and jobs,
and the loading of the programme file they name."""

import tomllib
from decimal import Decimal
from pathlib import Path

from pydantic import Field

from runtime.auth import AuthSettings

from .domain.rules import EarningRules, parse_rules

PROGRAMME_FILE = Path(__file__).parent / "programme.toml"


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
    #: Members hear this many days ahead that points will expire.
    expiry_notice_days: int = Field(default=30, ge=1, le=366)
    #: How long a refund waits for its purchase before it goes to operations (on the
    #: dead-letter topic); it stays parked, and a purchase arriving later still applies it.
    refund_wait_seconds: float = Field(default=86_400, gt=0)
    #: What one point is worth to the bank, for the liability's CNY equivalent (metrics).
    point_value_cny: Decimal = Field(default=Decimal("0.01"), ge=0)


def load_rules(path: Path = PROGRAMME_FILE) -> EarningRules:
    """The programme file, validated: a bad one raises pydantic's ValidationError."""
    with path.open("rb") as file:
        return parse_rules(tomllib.load(file))
