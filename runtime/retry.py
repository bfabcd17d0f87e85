"""Transient failures (database or broker unreachable, deadlock, serialization) are retried
with backoff, never dead-lettered: the same record will succeed once the dependency is back."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from aiokafka.errors import KafkaError

from .metrics import TRANSIENT_RETRIES

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATE classes: 08 connection, 40 rollback (serialization, deadlock), 53 resources,
# 57 operator intervention (shutdown), 58 system error.
_TRANSIENT_SQLSTATE_CLASSES = {"08", "40", "53", "57", "58"}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.PostgresError):
        return (exc.sqlstate or "")[:2] in _TRANSIENT_SQLSTATE_CLASSES
    if isinstance(exc, KafkaError):
        return bool(getattr(exc, "retriable", False)) or type(exc).__name__.startswith(
            ("KafkaConnection", "KafkaTimeout", "RequestTimedOut", "NodeNotReady"))
    # InternalClientError: a pooled connection left mid-operation when its server process was
    # terminated; the failed attempt terminates it, so the retry runs on a fresh one.
    return isinstance(exc, (OSError, TimeoutError, asyncpg.InterfaceError,
                            asyncpg.InternalClientError,
                            asyncpg.exceptions.ConnectionDoesNotExistError))


async def retry_transient(
    operation: str,
    attempt: Callable[[], Awaitable[T]],
    *,
    max_attempts: int = 12,
    base_delay: float = 0.1,
    max_delay: float = 15.0,
) -> T:
    """Run `attempt` until it succeeds, retrying transient errors with capped exponential
    backoff and full jitter. Anything else, or the last transient error, propagates."""
    for number in range(1, max_attempts + 1):
        try:
            return await attempt()
        except Exception as exc:
            if not is_transient(exc) or number == max_attempts:
                raise
            delay = random.uniform(0, min(max_delay, base_delay * 2**number))
            TRANSIENT_RETRIES.labels(operation).inc()
            log.warning("transient failure in %s (attempt %d): %r; retrying in %.2fs",
                        operation, number, exc, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
