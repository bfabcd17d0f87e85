"""The analytics service's settings: the shared ones plus its port, the measures' model
(domain/model.py, each a variable of its own), the report's window and its jobs."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from pydantic import Field

from runtime.auth import AuthSettings

from .domain.model import Model

#: The lounges' airports and cities: the rewards catalogue's demo file.
LOUNGES_FILE = Path(__file__).parent.parent / "rewards" / "catalogue" / "lounges.csv"


class AnalyticsSettings(AuthSettings):
    http_port: int = Field(default=8006, ge=1, le=65535)
    #: Months a report covers (its series), ending with the report's month.
    report_months: int = Field(default=12, ge=1, le=60)
    #: How often the job looks whether last month's calls were worked out (once a month).
    calls_check_seconds: float = Field(default=3600, gt=0)
    #: The day of the month (Asia/Shanghai) from which last month's calls are worked out:
    #: core banking's asset snapshots of a month arrive after it ends, and a month without
    #: its assets would look like a decline.
    calls_from_day: int = Field(default=5, ge=1, le=28)
    #: Where the lounges' airports get their city (airport_code, city columns).
    lounges_file: Path = LOUNGES_FILE
    churn_inactive_months: int = Field(default=3, ge=1, le=24)
    interchange_rate: Decimal = Field(default=Decimal("0.006"), ge=0, le=1)
    net_interest_margin: Decimal = Field(default=Decimal("0.018"), ge=0, le=1)
    discount_rate: Decimal = Field(default=Decimal("0.10"), ge=0, le=1)
    window_months: int = Field(default=3, ge=1, le=12)
    trial_months: int = Field(default=3, ge=1, le=24)
    growth_threshold: Decimal = Field(default=Decimal("0.10"), ge=0)
    decline_threshold: Decimal = Field(default=Decimal("0.20"), ge=0, le=1)
    most_valuable: int = Field(default=20, ge=1, le=1000)
    sharp_drop: Decimal = Field(default=Decimal("0.50"), gt=0, le=1)
    point_value_cny: Decimal = Field(default=Decimal("0.01"), ge=0)

    def model(self) -> Model:
        return Model(**{name: getattr(self, name) for name in Model.__dataclass_fields__})

    def cities(self) -> dict[str, str]:
        """Airport code -> city, from the lounges file."""
        with self.lounges_file.open(encoding="utf-8", newline="") as file:
            return {row["airport_code"]: row["city"] for row in csv.DictReader(file)}
