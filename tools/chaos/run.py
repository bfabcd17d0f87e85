"""The two runs and their comparison.

Each world: start its processes, create its partners, deliver the input (clean: the natural
phases, each applied everywhere before the next; chaos: the disordered chunks, a fault
striking while each but the last is sent and consumed), wait until everything is applied,
run the redemption scenarios (chaos: a share of the operations at a time, a fault striking
while the last of each share are in flight), wait again. Then both end states are read
and compared, and each world checked on its own. The broker and database are serving again
and the worlds' topics and schemas removed before `run` returns, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from contracts.envelope import EncodedEvent

from . import delivery, infra, state
from .checks import Difference, Published, compare, ledger_checks, provider_sends, published_once
from .faults import Fault, Injector, Recovery, plan
from .inputs import Input, generate
from .kafka import Broker
from .redemptions import Driver, Outcomes, create_partners, scenarios, today
from .world import ROOT, World

log = logging.getLogger("chaos")


@dataclass(frozen=True)
class Config:
    seed: int = 1
    transactions: int = 100_000
    customers: int = 10_000
    kills: int = 20  # per consumer service
    database_restarts: int = 2
    broker_restarts: int = 2
    redemption_members: int = 400
    #: Customers closed after the card window (their closures, like any customer event, may
    #: overtake their card transactions in the chaos run).
    close_share: float = 0.02
    #: The chaos run delivers the input in its natural order too: faults only.
    in_order: bool = False
    #: How long a world may take to apply what it was given before it counts as stalled.
    settle_timeout: float = 1800.0
    keep: bool = False  # leave the worlds' topics and schemas for inspection


#: The CI version (tests/integration/test_chaos_short.py): every kind of fault, a few
#: minutes on two busy cores, most of it the faults' recovery.
SHORT = Config(transactions=2_000, customers=200, kills=2, database_restarts=1,
               broker_restarts=1, redemption_members=20, settle_timeout=300.0)


@dataclass
class WorldRun:
    label: str
    seconds: float = 0.0
    processed: dict[str, int] = field(default_factory=dict)
    published: Published | None = None
    provider_sends: int = 0
    #: Messages the providers accepted (ids).
    provider_ids: set[str] = field(default_factory=set)
    #: Sends a kill interrupted (settled by asking the SMS provider, sent again if it had
    #: not got them; WeChat's unasked, never twice); and how many reached the provider.
    interrupted_sends: int = 0
    interrupted_reached: int = 0
    recoveries: list[Recovery] = field(default_factory=list)
    exits: dict[str, int] = field(default_factory=dict)
    outcomes: Outcomes | None = None
    #: The day its redemptions ran on (Asia/Shanghai).
    redemption_day: date | None = None
    #: What the run itself found: stalls, faults not recovered from, double sends.
    findings: list[Difference] = field(default_factory=list)


@dataclass
class Report:
    config: Config
    counts: dict[str, int]
    clean: WorldRun
    chaos: WorldRun
    differences: list[Difference]
    log_dir: Path


async def run(config: Config) -> Report:
    bootstrap, database_url = os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"]
    infra.check_managed(bootstrap, database_url)
    run_id = uuid.uuid4().hex[:6]
    log_dir = ROOT / ".local" / "chaos" / run_id
    log_dir.mkdir(parents=True, exist_ok=True)
    data = generate(config.seed, config.transactions, config.customers,
                    close_share=config.close_share)
    log.info("input: %s; logs in %s", data.counts, log_dir)
    broker = Broker(bootstrap)
    clean_world, chaos_world = World("clean", run_id, log_dir), World("chaos", run_id, log_dir)
    differences: list[Difference] = []
    try:
        clean = await _run(clean_world, data, config, broker, database_url, faults=False)
        chaos = await _run(chaos_world, data, config, broker, database_url, faults=True)
        differences += clean.findings + chaos.findings
        log.info("comparing the end states")
        differences += compare(
            await state.read(clean_world, database_url, clean.redemption_day or today()),
            await state.read(chaos_world, database_url, chaos.redemption_day or today()))
        for world, result in ((clean_world, clean), (chaos_world, chaos)):
            result.published, twice = await published_once(world, broker)
            checked = [*twice, *await ledger_checks(world, database_url)]
            differences += [replace(d, kind=f"{world.label}: {d.kind}") for d in checked]
            result.processed = await state.processed(world, database_url)
            interrupted = await state.interrupted_sends(world, database_url)
            result.interrupted_sends = len(interrupted)
            result.interrupted_reached = len(interrupted & result.provider_ids)
        (log_dir / "differences.txt").write_text("".join(f"{d}\n" for d in differences))
        return Report(config, data.counts, clean, chaos, differences, log_dir)
    finally:
        for world in (clean_world, chaos_world):
            await world.stop()
        await infra.restore()
        if not config.keep:
            for world in (clean_world, chaos_world):
                with contextlib.suppress(Exception):
                    await world.remove(bootstrap, database_url)


async def _run(world: World, data: Input, config: Config, broker: Broker, database_url: str,
               *, faults: bool) -> WorldRun:
    rng = random.Random(f"{world.label}:{config.seed}")
    result = WorldRun(world.label)
    started = time.monotonic()
    log.info("%s run: starting its services", world.label)
    await world.start()
    injector = Injector(world, broker, database_url, rng)
    planned = (plan(rng, config.kills, config.database_restarts, config.broker_restarts)
               if faults else {"input": [], "redemptions": []})
    try:
        keys = await create_partners(world, database_url)
        faulted = iter(planned["input"])
        if faults and not config.in_order:
            chunks = data.disordered(rng, len(planned["input"]) + 1)
            await _publish_with_faults(world, broker.bootstrap, chunks, injector, faulted, rng)
        else:
            for phase in data.in_order(len(planned["input"]) + 1):
                await _publish_with_faults(world, broker.bootstrap, phase, injector, faulted,
                                           rng)
                # applied everywhere before the next phase
                result.findings += await delivery.settle(world, broker, database_url,
                                                 config.settle_timeout)
        result.findings += await delivery.settle(world, broker, database_url, config.settle_timeout)
        log.info("%s run: input applied after %.0fs; redemptions", world.label,
                 time.monotonic() - started)
        driver = Driver(world, keys)
        result.redemption_day = today()
        try:
            todo = scenarios(random.Random(f"redemptions:{config.seed}"), data.member_ids,
                             config.redemption_members)
            await _redeem(driver, todo, injector, planned["redemptions"])
        finally:
            await driver.close()
        result.outcomes = driver.outcomes
        result.findings += [Difference(f"{world.label}: stalled", f"redemption {key} not settled"
                                     " in time") for key in driver.outcomes.stuck]
        result.findings += await delivery.settle(world, broker, database_url, config.settle_timeout)
        result.findings += [Difference(f"{world.label}: stalled", f"{what}")
                            for what in await delivery.unsent_messages(world, database_url)]
        result.provider_sends, sent_twice, result.provider_ids = await provider_sends(world)
        result.findings += [replace(d, kind=f"{world.label}: {d.kind}") for d in sent_twice]
    finally:
        result.recoveries = injector.done
        result.exits = dict(world.exits)
        result.seconds = time.monotonic() - started
        await world.stop()
    result.findings += [Difference(f"{world.label}: not recovered",
                                 f"{r.fault.kind} {r.fault.target} at {r.at:.0f}s")
                      for r in result.recoveries if not r.recovered]
    log.info("%s run done in %.0fs", world.label, result.seconds)
    return result


async def _publish_with_faults(world: World, bootstrap: str, chunks: list[list[EncodedEvent]],
                               injector: Injector, faults: Iterator[Fault], rng: random.Random
                               ) -> None:
    """Each chunk, and a moment after it began (while it is sent and consumed) the next of
    `faults`, while there are any. A chunk the broker's death interrupted is sent again
    whole: the records that had got through come twice, as after a producer's retry."""
    for chunk in chunks:
        sending = asyncio.ensure_future(delivery.publish(bootstrap, world, chunk))
        fault = next(faults, None)
        if fault is not None:
            await asyncio.sleep(rng.uniform(0, 0.3))
            _logged(await injector.inject(fault))
        await sending


async def _redeem(driver: Driver, todo: list, injector: Injector, faults: list[Fault]) -> None:
    """The scenarios, a share of the operations at a time; each fault strikes while the last
    few operations of a share are in flight, the next share already let through."""
    total = sum(len(s.operations) for s in todo)
    share = -(-total // (len(faults) + 1))
    await driver.allow(share)
    running = asyncio.ensure_future(driver.run(todo))
    for fault in faults:
        tail = max(1, min(4, share // 2))
        while not running.done() and driver.finished < driver.allowed - tail:
            await asyncio.sleep(0.01)
        await driver.allow(share)
        _logged(await injector.inject(fault))
    await driver.allow(total)
    await running


def _logged(recovery: Recovery) -> None:
    log.info("fault: %s %s: down %.1fs, ready after %s, moving after %s; lag at the fault %s",
             recovery.fault.kind, recovery.fault.target, recovery.down_s,
             _s(recovery.ready_s), _s(recovery.moving_s), recovery.lag_at_fault)


def _s(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f}s"
