"""Goodwill points for complaint recovery: which awards staff may make, which wait for a
second staff member (maker-checker), and who may decide a waiting one. Pure.

An award names a complaint and one of the configured reason codes. It is refused for a
closed member, and when it would take the member's goodwill of the year, or the whole
programme's, over its limit; awards waiting for approval count against the limits (they
hold their place), rejected ones do not. Above `approval_above` points it waits for
another staff member with the approver role; the maker never decides their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["pending", "awarded", "rejected"]
Refusal = Literal["unknown_reason", "member_closed", "over_award_limit", "over_member_limit",
                  "over_yearly_limit"]
DecisionRefusal = Literal["already_decided", "own_award"]


@dataclass(frozen=True, slots=True)
class GoodwillPolicy:
    """The configured rules (settings.py `goodwill_*`)."""

    reasons: frozenset[str]
    #: An award of more points waits for a second staff member's approval.
    approval_above: int
    #: The most one award may give.
    max_points: int
    #: The most one member may receive in a calendar year (Asia/Shanghai).
    member_yearly: int
    #: The most all members together may receive in a calendar year.
    programme_yearly: int


@dataclass(frozen=True, slots=True)
class YearSoFar:
    """Goodwill points of the award's year so far, awarded or waiting for approval."""

    member: int = 0
    programme: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    refusal: Refusal | None
    needs_approval: bool = False


def decide(policy: GoodwillPolicy, reason: str, points: int, closed: bool,
           so_far: YearSoFar) -> Decision:
    """Whether an award of `points` for `reason` may be made (or proposed), and whether it
    waits for a second staff member. `so_far` excludes the award itself."""
    if reason not in policy.reasons:
        return Decision("unknown_reason")
    if closed:
        return Decision("member_closed")
    if points > policy.max_points:
        return Decision("over_award_limit")
    if so_far.member + points > policy.member_yearly:
        return Decision("over_member_limit")
    if so_far.programme + points > policy.programme_yearly:
        return Decision("over_yearly_limit")
    return Decision(None, needs_approval=points > policy.approval_above)


def may_decide(status: Status, requested_by: str, staff_id: str) -> DecisionRefusal | None:
    """Whether `staff_id` (an approver) may approve or reject an award: a waiting one made
    by somebody else."""
    if status != "pending":
        return "already_decided"
    if requested_by == staff_id:
        return "own_award"
    return None

