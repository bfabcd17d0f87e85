"""The saga's slow endings as the domain decides them: time-outs after the bound, a partner's
cancellation of a pending redemption, and the refund of a debit that lands after either."""

from datetime import UTC, datetime, timedelta

import pytest

from contracts.rewards.v1 import (
    RedemptionCancelled,
    RedemptionRefundRequested,
    RedemptionRequested,
)
from services.rewards.domain.errors import Refused
from services.rewards.domain.redemptions import Redemption, timed_out
from tests.unit.rewards.test_answers_and_settlements import PARTNER

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
BOUND = timedelta(minutes=5)


def pending(age: timedelta, id: str = "rdm_1") -> Redemption:
    return Redemption.make(id=id, partner=PARTNER, member_id="C0000000001", kind="offer",
                           item_id="off_coffee_00_0", title="咖啡", persons=1, points=800,
                           counter=("off_coffee_00_0", "2026-11"), taken=1, valid_on=None,
                           now=NOW - age)


def test_only_what_waited_the_bound_times_out():
    due, young = pending(BOUND, "rdm_due"), pending(BOUND - timedelta(seconds=1), "rdm_young")
    settled = pending(BOUND * 2, "rdm_settled")
    settled.status = "confirmed"
    assert timed_out([due, young, settled], NOW, BOUND) == {
        "rdm_due": ("rejected", "timed_out")}


def test_a_pending_redemption_is_cancelled_with_nothing_to_refund_yet():
    r = pending(timedelta(seconds=10))
    assert isinstance(r.events.pop(), RedemptionRequested)
    r.cancel(NOW)
    assert (r.status, r.refund_status, r.cancelled_at) == ("cancelled", None, NOW)
    [event] = r.events
    assert isinstance(event, RedemptionCancelled) and event.points_to_refund == 0


@pytest.mark.parametrize("status, reason, words", [
    ("rejected", "timed_out", "is rejected (timed_out)"),
    ("rejected", "insufficient_points", "is rejected (insufficient_points)"),
    ("cancelled", None, "is cancelled:")])
def test_what_is_settled_against_the_partner_cannot_be_cancelled(status, reason, words):
    r = pending(timedelta(seconds=10))
    r.status, r.reason = status, reason
    with pytest.raises(Refused) as refused:
        r.cancel(NOW)
    assert (refused.value.code, refused.value.status) == ("not_cancellable", 409)
    assert words in refused.value.message


@pytest.mark.parametrize("gave_up", ["timed_out", "cancelled_while_pending"])
def test_a_late_debit_is_refunded_once(gave_up):
    r = pending(BOUND)
    if gave_up == "timed_out":
        r.status, r.reason, r.settled_at = "rejected", "timed_out", NOW
    else:
        r.cancel(NOW)
    r.events.clear()
    assert r.late_debit(NOW) is True
    # A refund request, not a second cancellation: the redemption's story had ended.
    [event] = r.events
    assert isinstance(event, RedemptionRefundRequested) and event.points == 800
    assert event.reason == ("timed_out" if gave_up == "timed_out" else "cancelled")
    assert r.refund_status == "requested"
    assert r.late_debit(NOW) is False and len(r.events) == 1  # asked once


@pytest.mark.parametrize("status, reason, refund", [
    ("confirmed", None, None),               # the debit it waited for: nothing late
    ("rejected", "insufficient_points", None),
    ("cancelled", None, "requested")])        # cancelled after it was confirmed: refund asked
def test_other_debits_ask_for_nothing(status, reason, refund):
    r = pending(BOUND)
    r.status, r.reason, r.refund_status, r.settled_at = status, reason, refund, NOW
    r.events.clear()
    assert r.late_debit(NOW) is False and r.events == []
