"""Backoff, giving up, and masking."""

import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.notifications.domain.delivery import RetryPolicy, backoff, gives_up, mask_mobile

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


def test_mask_mobile() -> None:
    assert mask_mobile("+8613812341234") == "138****1234"
    assert mask_mobile("13812341234") == "138****1234"
