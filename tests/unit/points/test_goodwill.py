"""Goodwill rules (domain/goodwill.py), table-driven: reason codes, closed members, the
limits per award, per member and year and for the programme's year, and which awards wait
for a second staff member, and who may decide them."""

from datetime import UTC, date, datetime

import pytest

from services.points.domain.goodwill import Decision, GoodwillPolicy, YearSoFar, decide, may_decide
from services.points.domain.ledger import COUNTER_ACCOUNT, MemberLedger

POLICY = GoodwillPolicy(reasons=frozenset({"service_failure", "points_missing"}),
                        approval_above=2_000, max_points=20_000, member_yearly=30_000,
                        programme_yearly=100_000)


@pytest.mark.parametrize(("reason", "points", "closed", "so_far", "expected"), [
    # under or at the threshold: made at once
    ("service_failure", 1, False, YearSoFar(), Decision(None, needs_approval=False)),
    ("service_failure", 2_000, False, YearSoFar(), Decision(None, needs_approval=False)),
    # above it: waits for a second staff member
    ("points_missing", 2_001, False, YearSoFar(), Decision(None, needs_approval=True)),
    ("points_missing", 20_000, False, YearSoFar(), Decision(None, needs_approval=True)),
    # reason codes are the configured ones only
    ("goodwill", 100, False, YearSoFar(), Decision("unknown_reason")),
    ("", 100, False, YearSoFar(), Decision("unknown_reason")),
    # a closed member gets nothing, however small
    ("service_failure", 1, True, YearSoFar(), Decision("member_closed")),
    # one award at most max_points
    ("service_failure", 20_001, False, YearSoFar(), Decision("over_award_limit")),
    # the member's year: up to the limit exactly, not a point more
    ("service_failure", 1_000, False, YearSoFar(member=29_000, programme=29_000),
     Decision(None)),
    ("service_failure", 1_001, False, YearSoFar(member=29_000, programme=29_000),
     Decision("over_member_limit")),
    # the programme's year
    ("service_failure", 500, False, YearSoFar(member=0, programme=99_500), Decision(None)),
    ("service_failure", 501, False, YearSoFar(member=0, programme=99_500),
     Decision("over_yearly_limit")),
    # the member's limit is named first when both are over
    ("points_missing", 5_000, False, YearSoFar(member=29_000, programme=99_000),
     Decision("over_member_limit")),
    # an unknown reason is named before a closure
    ("other", 100, True, YearSoFar(), Decision("unknown_reason")),
])
def test_decide(reason, points, closed, so_far, expected):
    assert decide(POLICY, reason, points, closed, so_far) == expected


def test_a_zero_threshold_sends_every_award_to_an_approver():
    policy = GoodwillPolicy(reasons=POLICY.reasons, approval_above=0, max_points=10,
                            member_yearly=10, programme_yearly=10)
    assert decide(policy, "points_missing", 1, False, YearSoFar()).needs_approval


@pytest.mark.parametrize(("status", "requested_by", "staff", "expected"), [
    ("pending", "rm-0001", "rm-0003", None),
    ("pending", "rm-0001", "rm-0001", "own_award"),
    ("awarded", "rm-0001", "rm-0003", "already_decided"),
    ("rejected", "rm-0001", "rm-0003", "already_decided"),
    ("awarded", "rm-0001", "rm-0001", "already_decided"),
])
def test_may_decide(status, requested_by, staff, expected):
    assert may_decide(status, requested_by, staff) == expected


def test_an_award_is_a_credit_from_the_goodwill_account():
    ledger = MemberLedger("C0000000001", balance=-300)  # a debt from an earlier reversal
    ledger.credit("goodwill", "CMP-1", 1_000, date(2027, 12, 31),
                  datetime(2026, 11, 30, tzinfo=UTC))
    assert (ledger.balance, ledger.lots) == (700, {date(2027, 12, 31): 700})
    assert [p.kind for p in ledger.postings] == ["goodwill"]
    assert COUNTER_ACCOUNT["goodwill"] == "programme:goodwill"
