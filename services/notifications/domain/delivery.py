"""What a provider's answer means for a message: sent, retry later, fall back to SMS, or
fail for good (`settle`); how long to wait before the next try; what becomes of a send
its sender died during, or whose call's outcome is unknown, once the provider has been asked
about it (`recover`); and of a sent SMS whose delivery receipt never came (`reconcile`)."""

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
    #: A transient failure after the request may have arrived (a timeout waiting for the
    #: answer, a connection broken mid-call): the provider is asked before a resend.
    unsure: bool = False


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


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a provider says it received under our message id (the SMS out-id / session
    context): `found` None when it could not say (an error, or too early to be sure)."""

    found: bool | None
    delivered: bool = False
    #: Found, and its delivery failed for good (found and neither: awaiting its report).
    failed: bool = False
    provider_message_id: str | None = None
    code: str = ""
    #: With no answer: when asking again can tell (a report still to come), if known.
    ask_after: datetime | None = None


Recovery = Literal["sent", "delivered", "resend", "later", "unknown"]


def recover(lookup: Lookup | None, lookups: int, max_lookups: int, *,
            same_number: bool = True) -> Recovery:
    """What becomes of a send its sender died during, after its `lookups`-th lookup
    (`lookup` None: the provider cannot be asked). Found: sent, or delivered; not found:
    sent again, unless the member's number changed since the call (the lookup searched
    the new number, so it proves nothing: settled as sent); no answer: asked again under
    the next lease, up to `max_lookups` times, then settled as sent without a second call,
    as for a provider that cannot be asked."""
    if lookup is None:
        return "unknown"
    if lookup.found:
        return "delivered" if lookup.delivered else "sent"
    if lookup.found is False:
        return "resend" if same_number else "unknown"
    return "later" if lookups < max_lookups else "unknown"


Reconciled = Literal["delivered", "failed", "later", "gave_up"]


def reconcile(lookup: Lookup, lookups: int, max_lookups: int) -> Reconciled:
    """What a lookup says of a sent SMS whose receipt never came, at its `lookups`-th
    lookup: delivered or failed as a receipt would say; otherwise asked again later, up to
    `max_lookups` times, then left 'sent' (counted)."""
    if lookup.found and lookup.delivered:
        return "delivered"
    if lookup.found and lookup.failed:
        return "failed"
    return "later" if lookups < max_lookups else "gave_up"
