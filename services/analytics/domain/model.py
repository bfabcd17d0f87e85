"""The measures' configuration (settings.py fills it from the environment): churn, the
lifetime-value model, the lifecycle stages' thresholds, the calls for relationship managers.
Rates are fractions; yearly rates are turned monthly by dividing by 12."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Model:
    #: A member with no qualifying activity (a purchase, a redemption, a salon) for this
    #: many months in a row has churned.
    churn_inactive_months: int = 3
    #: The bank's margin on card spend (interchange), a fraction of the net spend.
    interchange_rate: Decimal = Decimal("0.006")
    #: The bank's yearly net interest margin on the assets a member holds.
    net_interest_margin: Decimal = Decimal("0.018")
    #: The yearly discount rate of future margins.
    discount_rate: Decimal = Decimal("0.10")
    #: Months averaged for a member's monthly margin (lifetime value), and for each of the
    #: two windows a lifecycle stage compares.
    window_months: int = 3
    #: A member's first months (the enrolment month is the first) are their trial stage.
    trial_months: int = 3
    #: Recent margin at least (1 + growth) times the window before: growth; at most
    #: (1 - decline) times: decline; in between: maturity.
    growth_threshold: Decimal = Decimal("0.10")
    decline_threshold: Decimal = Decimal("0.20")
    #: The monthly list of the most valuable members, and how many of the top of the
    #: previous month's list are watched for a sharp drop in spend.
    most_valuable: int = 20
    #: A watched member whose spend in the month is below (1 - sharp_drop) times their
    #: average of the window before has dropped sharply.
    sharp_drop: Decimal = Decimal("0.50")
    #: What one point costs the bank (the liability's CNY value).
    point_value_cny: Decimal = Decimal("0.01")
