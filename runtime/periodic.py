"""Periodic housekeeping and jobs: run a task, then again every so often, until cancelled.
A failed round is logged and the next one runs as planned; the loop itself never dies."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from .metrics import PERIODIC_FAILURES, PERIODIC_LAST_SUCCESS
from .retry import is_transient

log = logging.getLogger(__name__)


async def repeat(task: Callable[[], Awaitable[object]], every_seconds: float, what: str) -> None:
    """Run `task` now and then every `every_seconds`; `what` names it in the logs and, with
    '_' for spaces, in the metrics (label `task`)."""
    label = what.replace(" ", "_")
    while True:
        try:
            await task()
            PERIODIC_LAST_SUCCESS.labels(label).set(time.time())
        except Exception as exc:  # CancelledError is not an Exception: stop() still stops it
            PERIODIC_FAILURES.labels(label).inc()
            if is_transient(exc):
                log.warning("%s failed (%r); trying again in %gs", what, exc, every_seconds)
            else:
                log.exception("%s failed; trying again in %gs", what, every_seconds)
        await asyncio.sleep(every_seconds)
