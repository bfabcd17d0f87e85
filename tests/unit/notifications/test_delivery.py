"""Backoff, giving up, what a provider's answer makes of a message, and masking."""

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from runtime.personal_data import mask_mobile
from services.notifications.domain.delivery import Result, RetryPolicy, backoff, gives_up, settle

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
