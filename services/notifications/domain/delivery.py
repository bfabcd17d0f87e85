"""What a provider's answer means for a message: sent, retry later, fall back to SMS, or
fail for good (`settle`); and how long to wait before the next try."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
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



@dataclass(frozen=True, slots=True)
class Settled:
    """A message after its provider calls: sent, queued again for a retry, or failed."""

    state: Literal["sent", "queued", "failed"]
    not_before: datetime
    reason: str | None = None


def settle(result: Result, attempts: int, policy: RetryPolicy, now: datetime,
           rng: random.Random | None = None) -> Settled:
    """The final call's `result` after `attempts` calls in all."""
    if result.kind == "sent":
        return Settled("sent", now)
    if result.kind == "transient" and not gives_up(attempts, policy):
        return Settled("queued", now + backoff(attempts, policy, rng))
    return Settled("failed", now,
                   result.reason if result.kind == "permanent" else "retries_exhausted")
