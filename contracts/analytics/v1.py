"""Analytics events, major version 1, on `loyalty.analytics.v1`. Keyed by `member_id`.

Once a month ends, the analytics service names the members a relationship manager should
call, with the reasons (docs/analytics.md): a member whose lifecycle stage entered decline,
or one of the most valuable members whose spend dropped sharply. One event per member and
month (its id is derived from both), so a call is suggested once.
"""

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from .. import topics
from ..base import Event
from ..fields import CnyAmount, MemberId, Timestamp
from ..tiers import Tier

Reason = Literal["entered_decline", "sharp_drop"]
Stage = Literal["trial", "growth", "maturity", "decline"]


class CallSuggested(Event):
    """A member to call this month, and why."""

    ce_type: ClassVar[str] = "analytics.call-suggested"
    topic: ClassVar[str] = topics.ANALYTICS_V1

    member_id: MemberId
    month: Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")] = Field(
        description="The month that ended (Asia/Shanghai), e.g. 2026-11.")
    tier: Tier = Field(description="The member's tier at the month's end.")
    reasons: Annotated[list[Reason], Field(min_length=1, max_length=2)] = Field(
        description="entered_decline: the lifecycle stage became decline this month;"
                    " sharp_drop: one of last month's most valuable members spent less than"
                    " half their average of the three months before.")
    stage: Stage = Field(description="The lifecycle stage at the month's end.")
    lifetime_value: CnyAmount = Field(description="Customer lifetime value at the month's end.")
    suggested_at: Timestamp
