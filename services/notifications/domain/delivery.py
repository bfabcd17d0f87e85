"""What a provider's answer means for a message: sent, retry later, fall back to SMS, or
fail for good; and how long to wait before the next try."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

Kind = Literal["sent", "transient", "permanent", "fallback"]


@dataclass(frozen=True, slots=True)
class Result:
    """One provider call's outcome. `code` is the provider's own (logged, evented)."""

    kind: Kind
    code: str = ""
    provider_message_id: str | None = None
    #: For permanent failures: the reason published in notification.failed.
    reason: str = "rejected"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=30)


def backoff(attempts: int, policy: RetryPolicy, rng: random.Random | None = None) -> timedelta:
    """Exponential with full jitter, at least a tenth of the step so retries do not bunch
    at zero: after the n-th failed attempt wait up to base * 2**(n-1), capped."""
    rng = rng or random
    step = min(policy.cap.total_seconds(), policy.base.total_seconds() * 2 ** (attempts - 1))
    return timedelta(seconds=rng.uniform(step / 10, step))


def gives_up(attempts: int, policy: RetryPolicy) -> bool:
    return attempts >= policy.max_attempts


def mask_mobile(mobile: str) -> str:
    """+8613812341234 -> 138****1234: what logs, events and screens may show."""
    digits = mobile.removeprefix("+86")
    return f"{digits[:3]}****{digits[-4:]}"
