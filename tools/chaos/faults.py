"""The faults of the chaos run and how long each took to recover from.

A kill is kill -9 of a service process, struck at a moment it is at work (consuming, or for
every other kill of notifications sending: the provider sandbox taking its calls), else after
waiting three seconds; it is started again after a pause of up to a second. The database
fault stops PostgreSQL in `immediate` mode (no checkpoint, crash recovery at start)
for a few seconds; the broker fault is kill -9 of Kafka. Faults happen one at a time: each
is recovered from before the next.

Recovered, for each service the fault touched: ready (/health/ready: database, broker and
relay), and moving again: its consumers have consumed something since the restart or have
nothing left to consume, and its relay has published something or has nothing to publish.
Times are measured from the restart (the process started again, or the broker or database
serving again); a service not recovered within RECOVERY_TIMEOUT is a finding.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import Literal

import httpx
from prometheus_client.parser import text_string_to_metric_families

from . import infra
from .kafka import Broker
from .state import outbox_rows
from .world import SANDBOX, SERVICES, World

RECOVERY_TIMEOUT = 180.0
#: How long a kill waits for its service to be at work before it strikes anyway.
AT_WORK_WAIT = 3.0
Kind = Literal["kill", "database", "broker"]
Phase = Literal["input", "redemptions"]


@dataclass(frozen=True)
class Fault:
    kind: Kind
    target: str  # the service killed, or "postgresql" / "kafka"
    phase: Phase


@dataclass
class Recovery:
    fault: Fault
    at: float  # seconds into the chaos run
    down_s: float  # from the fault until restarted (or serving again)
    ready_s: float | None = None  # from the restart until ready
    moving_s: float | None = None  # from the restart until moving again
    lag_at_fault: dict[str, int] = field(default_factory=dict)
    #: What a killed service was doing: consuming, sending (notifications) or idle.
    doing: str = ""

    @property
    def recovered(self) -> bool:
        return self.moving_s is not None


def plan(rng: random.Random, kills: int, database: int, broker: int
         ) -> dict[Phase, list[Fault]]:
    """Every service killed `kills` times, a third of them (at least one, when there are
    two or more) while redemptions run; half the database and broker restarts (rounded
    down) then too; each phase's faults in random order."""
    phases: dict[Phase, list[Fault]] = {"input": [], "redemptions": []}
    later = max(kills // 3, 1) if kills >= 2 else 0
    for service in SERVICES:
        phases["input"] += [Fault("kill", service, "input")] * (kills - later)
        phases["redemptions"] += [Fault("kill", service, "redemptions")] * later
    for kind, target, count in (("database", "postgresql", database),
                                ("broker", "kafka", broker)):
        phases["input"] += [Fault(kind, target, "input")] * (count - count // 2)
        phases["redemptions"] += [Fault(kind, target, "redemptions")] * (count // 2)
    for faults in phases.values():
        rng.shuffle(faults)
    return phases


class Injector:
    def __init__(self, world: World, broker: Broker, database_url: str,
                 rng: random.Random) -> None:
        self.world = world
        self.broker = broker
        self.database_url = database_url
        self.rng = rng
        self.started = time.monotonic()
        self.done: list[Recovery] = []
        self._sending_next = True  # notifications' kills: while sending, then consuming, ...

    async def inject(self, fault: Fault) -> Recovery:
        """The fault, then the restart, then until recovered. A kill waits for a moment the
        service is at work (`_at_work`); the consumer lag is taken just after the fault
        (before it, for the broker): work in flight when it struck."""
        doing = await self._at_work(fault.target) if fault.kind == "kill" else ""
        at = time.monotonic()
        pause = self.rng.uniform(0.2, 1) if fault.kind == "kill" else self.rng.uniform(1, 4)
        touched = [fault.target] if fault.kind == "kill" else list(SERVICES)
        if fault.kind == "broker":
            lags = await self.broker.lags(self.world)
            await infra.kill_broker()
        elif fault.kind == "database":
            await infra.stop_database()
            lags = await self.broker.lags(self.world)
        else:
            self.world.down(fault.target)
            lags = await self.broker.lags(self.world)
        await asyncio.sleep(max(0.0, at + pause - time.monotonic()))
        if fault.kind == "broker":
            await infra.start_broker()
        elif fault.kind == "database":
            await infra.start_database()
        else:
            self.world.up(fault.target)
        restarted = time.monotonic()
        recovery = Recovery(fault, at - self.started, restarted - at, doing=doing,
                            lag_at_fault={s: (lags or {}).get(s, 0) for s in touched})
        await self._recover(recovery, touched, restarted)
        self.done.append(recovery)
        return recovery

    async def _at_work(self, service: str) -> str:
        """Waits (at most AT_WORK_WAIT) for the service to be consuming (its consumed-records
        counter moving) or, for every other kill of notifications, sending (the provider
        sandbox taking calls: a batch of sends is in hand); returns which, or "idle"."""
        sending = service == "notifications" and self._sending_next
        self._sending_next ^= service == "notifications"
        url = self.world.url(SANDBOX if sending else service)
        deadline = time.monotonic() + AT_WORK_WAIT
        async with httpx.AsyncClient(timeout=2) as http:
            before = await _work_done(http, url, sending)
            while time.monotonic() < deadline:
                await asyncio.sleep(0.02)
                now = await _work_done(http, url, sending)
                if None not in (before, now) and now > before:
                    return "sending" if sending else "consuming"
                before = now
        return "idle"

    async def _recover(self, recovery: Recovery, services: list[str], since: float) -> None:
        deadline = since + RECOVERY_TIMEOUT
        baseline: dict[str, tuple[float, float]] | None = None
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if recovery.ready_s is None:
                    if all([await _ready(http, self.world.url(s)) for s in services]):
                        recovery.ready_s = time.monotonic() - since
                    else:
                        await asyncio.sleep(0.1)
                        continue
                counters = {s: await _counters(http, self.world.url(s)) for s in services}
                if None in counters.values():
                    await asyncio.sleep(0.2)
                    continue
                if baseline is None:  # a killed service's counters start at zero
                    baseline = {s: (0.0, 0.0) if recovery.fault.kind == "kill" else c
                                for s, c in counters.items()}
                lags = await self.broker.lags(self.world)
                outbox = await outbox_rows(self.world, self.database_url, services)
                if lags is not None and outbox is not None and all(
                        (lags[s] == 0 or counters[s][0] > baseline[s][0])
                        and (outbox[s] == 0 or counters[s][1] > baseline[s][1])
                        for s in services):
                    recovery.moving_s = time.monotonic() - since
                    return
                await asyncio.sleep(0.2)


async def _ready(http: httpx.AsyncClient, url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return (await http.get(f"{url}/health/ready")).status_code == 200
    return False


async def _work_done(http: httpx.AsyncClient, url: str, sending: bool) -> float | None:
    """The sandbox's provider calls, or the service's consumed records."""
    if sending:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            return float((await http.get(f"{url}/stats")).json()["calls"])
        return None
    counters = await _counters(http, url)
    return None if counters is None else counters[0]


async def _counters(http: httpx.AsyncClient, url: str) -> tuple[float, float] | None:
    """(records consumed, outbox rows published) since the process started."""
    try:
        text = (await http.get(f"{url}/metrics")).text
    except httpx.HTTPError:
        return None
    consumed = published = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "loyalty_events_consumed_total":
                consumed += sample.value
            elif sample.name == "loyalty_outbox_published_total":
                published += sample.value
    return consumed, published
