"""One module per input: the two consumed topics (customers.py, asset_snapshots.py), the
staff's tier override (tier_override.py), the timer that ends overrides (override_ends.py)
and the tier review job (reviews.py). Each loads (sql/), decides (domain/), saves (sql/) and
emits through its unit of work. Every one that brings a fact about tiers has them decided
again by timelines.py; events.py is the one place that turns decisions into contract
events."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from runtime.unit_of_work import UnitOfWork

from ..domain.programme import TierProgramme

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)  # a job is itself, not its values
class TierJob:
    """A timer's job on tiers (override_ends.py, reviews.py): its own units of work, the
    programme, and a clock tests set."""

    unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]]
    programme: TierProgramme
    clock: Clock = utc_now
