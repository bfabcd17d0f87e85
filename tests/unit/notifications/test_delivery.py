"""Backoff, giving up, what a provider's answer makes of a message (and a lookup of a
send, or of a missing receipt), which transport failures leave a send unsure, and
masking."""

import random
from datetime import UTC, datetime, timedelta

import httpx
from hypothesis import given
from hypothesis import strategies as st

from runtime.personal_data import mask_mobile
from services.notifications.domain.delivery import (
    Lookup,
    Result,
    RetryPolicy,
    backoff,
    gives_up,
    reconcile,
    recover,
    settle,
)
from services.notifications.providers.aliyun_sms import read_details
from services.notifications.providers.base import transport_failure
from services.notifications.providers.tencent_sms import read_statuses

POLICY = RetryPolicy(max_attempts=5, base=timedelta(seconds=2), cap=timedelta(seconds=60))


@given(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=2**32))
def test_backoff_grows_is_jittered_and_capped(attempts, seed) -> None:
    delay = backoff(attempts, POLICY, random.Random(seed)).total_seconds()
    step = min(60.0, 2.0 * 2 ** (attempts - 1))
    assert step / 10 <= delay <= step


def test_jitter_spreads_retries() -> None:
    rng = random.Random(7)
    assert len({backoff(3, POLICY, rng) for _ in range(20)}) > 10


def test_gives_up_after_the_budget() -> None:
    assert [gives_up(n, POLICY) for n in (1, 4, 5, 6)] == [False, False, True, True]


def test_settle_sends_retries_and_fails() -> None:
    now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    assert settle(Result("sent"), 1, POLICY, now).state == "sent"
    retry = settle(Result("transient", code="http_503"), 2, POLICY, now, random.Random(1))
    assert retry.state == "queued" and now < retry.not_before <= now + timedelta(seconds=4)
    exhausted = settle(Result("transient"), 5, POLICY, now)
    assert (exhausted.state, exhausted.reason) == ("failed", "retries_exhausted")
    invalid = settle(Result("permanent", reason="invalid_number"), 1, POLICY, now)
    assert (invalid.state, invalid.reason, invalid.not_before) == ("failed", "invalid_number", now)


def test_mask_mobile() -> None:
    assert mask_mobile("+8613812341234") == "138****1234"
    assert mask_mobile("13812341234") == "138****1234"


def test_an_interrupted_send_is_settled_by_what_the_provider_says() -> None:
    assert recover(Lookup(True), 1, 3) == "sent"
    assert recover(Lookup(True, delivered=True), 1, 3) == "delivered"
    assert recover(Lookup(False), 1, 3) == "resend"
    # searched under a number the member has since changed: proves nothing, not sent again
    assert recover(Lookup(False), 1, 3, same_number=False) == "unknown"
    assert recover(Lookup(True), 1, 3, same_number=False) == "sent"
    assert recover(Lookup(None, code="http_503"), 1, 3) == "later"
    assert recover(Lookup(None, code="http_503"), 3, 3) == "unknown"  # bounded
    assert recover(None, 1, 3) == "unknown"  # a provider that cannot be asked (WeChat)


def test_a_sent_sms_without_a_receipt_is_settled_by_its_lookup_or_left_sent() -> None:
    assert reconcile(Lookup(True, delivered=True), 1, 3) == "delivered"
    assert reconcile(Lookup(True, failed=True, code="MK:0001"), 1, 3) == "failed"
    assert reconcile(Lookup(True), 1, 3) == "later"  # found, its report still to come
    assert reconcile(Lookup(False), 2, 3) == "later"
    assert reconcile(Lookup(None, code="http_503"), 2, 3) == "later"
    assert reconcile(Lookup(None, code="http_503"), 3, 3) == "gave_up"  # bounded
    assert reconcile(Lookup(True, delivered=True), 3, 3) == "delivered"


def test_a_call_whose_answer_was_lost_is_unsure_one_that_never_left_is_not() -> None:
    request = httpx.Request("POST", "https://dysmsapi.aliyuncs.com/")
    for exc in (httpx.ReadTimeout("t", request=request), httpx.ReadError("r", request=request),
                httpx.RemoteProtocolError("closed", request=request),
                httpx.WriteTimeout("w", request=request)):
        assert transport_failure(exc) == Result("transient", code=type(exc).__name__,
                                                unsure=True)
    for exc in (httpx.ConnectError("c", request=request),
                httpx.ConnectTimeout("c", request=request),
                httpx.PoolTimeout("p", request=request)):
        assert not transport_failure(exc).unsure
        assert transport_failure(exc).kind == "transient"


def test_provider_lookups_tell_delivered_failed_and_awaiting_apart() -> None:
    def aliyun(status: int) -> Lookup:
        return read_details({"Code": "OK", "SmsSendDetailDTOs": {"SmsSendDetailDTO": [
            {"OutId": "m1", "SendStatus": status, "ErrCode": "E"}]}}, "m1")
    assert (aliyun(3).delivered, aliyun(3).failed) == (True, False)
    assert (aliyun(2).delivered, aliyun(2).failed) == (False, True)
    assert (aliyun(1).found, aliyun(1).delivered, aliyun(1).failed) == (True, False, False)

    def tencent(report: str) -> Lookup:
        return read_statuses({"Response": {"PullSmsSendStatusSet": [
            {"SessionContext": "m1", "ReportStatus": report, "SerialNo": "s"}]}}, "m1")
    assert (tencent("SUCCESS").delivered, tencent("SUCCESS").failed) == (True, False)
    assert (tencent("FAIL").delivered, tencent("FAIL").failed) == (False, True)
