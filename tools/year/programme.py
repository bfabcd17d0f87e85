"""python -m tools.year.programme [--members 300] [--seed 18] [--out DIR] [--no-screenshot]:
the programme's year for analytics (issue 18). A population of the simulator's customers
(simulator/population.py, their card spend the spending model's) lives from July 2025 to
December 2026 through the real services, analytics among them (world.py, on the broker and
database of KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL). Each member follows a trajectory
from a month of 2026 on: steady, grows (assets and spend rise to 2.5 x), declines (fall to
0.3 x), lapses (stops spending), closes (leaves the bank), or joins (onboarded that month).
Gold and higher members visit airport lounges, some donate points. No member replies TD:
the sandbox dates a reply by the wall clock, so its opt-out would land in today's month.

At the end the monthly programme report for 2026-12 (12 months) is written to DIR with
the figures as JSON, and Debian's headless Chromium takes a screenshot of it; the
headline figures and the run's time are printed. The six months of 2025 give 2026's first
months their look-back (stages compare two windows of three months; churn looks back three).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import shutil
import subprocess
import sys
import tempfile
import time as wall
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from services.analytics.domain.figures import ProgrammeFigures
from services.analytics.handlers.figures import load_figures
from services.analytics.report import write_report
from services.analytics.report.files import figures_to_json
from services.analytics.report.headline import headline
from services.analytics.settings import AnalyticsSettings
from simulator.population import closed, make_customers, onboarded
from simulator.spending import CardSpending

from .cast import Act, Sample, at, months, purchases, snapshot
from .run import Driver
from .world import World, YearClock

FIRST = date(2025, 7, 1)  # the look-back's first month
YEAR = date(2026, 1, 1)
LAST = date(2026, 12, 31)
REPORT_MONTH = "2026-12"
KINDS = {"steady": 0.55, "grows": 0.12, "declines": 0.12, "lapses": 0.08, "closes": 0.05,
         "joins": 0.08}
LOUNGES = ("PEK-T3-01", "PVG-T2-01", "CAN-T1-01", "SZX-T3-01", "CTU-T1-01", "SHA-T2-01")
#: Wide enough for the report's two columns, tall enough for the whole page (as the
#: browser test of the report, tests/integration/test_analytics_report_browser.py).
WINDOW, BUDGET_MS = "1400,4800", "20000"


@dataclass(frozen=True)
class Member:
    sample: Sample  # the customer, their kind (`why`), assets path per month since FIRST
    turn: date  # the month of 2026 their trajectory starts
    spend: tuple[float, ...]  # card spend's factor per month since FIRST

    @property
    def kind(self) -> str:
        return self.sample.why


def trajectory(kind: str, k: int, turn: int, end: int) -> tuple[float, float]:
    """(assets factor, spend factor) in month k (since FIRST) of a member turning at `turn`."""
    if k < turn or kind in ("steady", "joins", "closes"):
        return 1.0, 1.0
    progress = (k - turn + 1) / (end - turn + 1)
    if kind == "grows":
        return 1 + 1.5 * progress, 1 + 1.5 * progress
    if kind == "declines":
        return 1 - 0.7 * progress, 1 - 0.7 * progress
    return 1.0, 0.0  # lapses: the money stays, the card is put away


def population(rng: random.Random, n: int) -> list[Member]:
    span = months(FIRST, LAST)
    year = months(YEAR, LAST)
    members = []
    for customer in make_customers(rng, n, datetime(2025, 6, 1, tzinfo=at(FIRST, 0).tzinfo)):
        kind = rng.choices(list(KINDS), list(KINDS.values()))[0]
        turn = rng.choice(year[1:-1])
        if kind == "joins":
            customer = replace(customer, onboarded_at=at(turn + timedelta(
                days=rng.randrange(27)), rng.randrange(9, 18), rng.randrange(60)))
        k_turn = span.index(turn)
        paths = [trajectory(kind, k, k_turn, len(span) - 1) for k in range(len(span) + 1)]
        # The snapshots' index starts a month before FIRST (June 2025's, taken on 1 July).
        sample = Sample(customer, kind, tuple(a for a, _ in paths[:1] + paths[:-1]),
                        min(2.5 * customer.activity, 20.0))
        members.append(Member(sample, turn, tuple(s for _, s in paths[:-1])))
    return members


def alive(member: Member, month: date) -> bool:
    """Whether the member is a customer during the month (joined by its end, not closed
    before it)."""
    joined = member.kind != "joins" or member.turn <= month
    return joined and not (member.kind == "closes" and month > member.turn)


class Programme:
    """The year's inputs, month by month, into the world."""

    def __init__(self, world: World, driver: Driver, members: list[Member], seed: int) -> None:
        self.world, self.driver, self.members = world, driver, members
        self.rng = random.Random(seed + 1)
        self.spending = CardSpending(random.Random(seed + 2))
        self.answers: Counter[str] = Counter()
        self.events = 0

    def plan(self) -> dict[datetime, list[Callable]]:
        steps: dict[datetime, list[Callable]] = defaultdict(list)
        members = self.members
        steps[at(FIRST, 1)].append(lambda: self.publish(
            [onboarded(m.sample.customer) for m in members if m.kind != "joins"]))
        for k, month in enumerate([*months(FIRST, LAST), date(2027, 1, 1)]):
            measured = (month - timedelta(days=1)).replace(day=1)
            steps[at(month, 2)].append(lambda measured=measured, k=k: self.publish([
                snapshot(self.rng, m.sample, measured, k, self.world.clock.now())
                for m in members if alive(m, measured)]))
            if month > LAST:
                break
            last_day = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            steps[at(last_day, 23)].append(lambda month=month, k=k, last_day=last_day:
                                          self.publish(self.purchases(month, k, last_day)))
            for m in members:
                self._acts(steps, m, month)
        return steps

    def purchases(self, month: date, k: int, last_day: date) -> list:
        out = []
        for m in self.members:
            if not alive(m, month) or not m.spend[k]:
                continue
            first, last = month, last_day
            if m.kind == "joins" and m.turn == month:
                first = m.sample.customer.onboarded_at.date()
            if m.kind == "closes" and m.turn == month:
                last = month + timedelta(days=8)  # closes on the 10th
            rate = m.sample.purchases_per_month * m.spend[k]
            out += purchases(self.rng, self.spending,
                             replace(m.sample, purchases_per_month=rate), first, last)
        return sorted(out, key=lambda e: e.posted_at)

    def _acts(self, steps: dict, m: Member, month: date) -> None:
        rng, customer = self.rng, m.sample.customer
        if m.turn == month and m.kind == "joins":
            steps[customer.onboarded_at].append(lambda: self.publish([onboarded(customer)]))
        if m.turn == month and m.kind == "closes":
            moment = at(month + timedelta(days=9), 16)
            steps[moment].append(lambda: self.publish([closed(customer, moment, None)]))
        moving = m.turn == month and m.kind in ("joins", "closes")
        if month < YEAR or moving or not alive(m, month):
            return  # in the month they join or leave, no visits
        day = at(month + timedelta(days=rng.randrange(1, 27)), rng.randrange(9, 19))
        if customer.wealth_cny >= 50_000 and rng.random() < 0.12:
            self._act(steps, m, Act(day, "lounge", rng.choice(LOUNGES), allow_points=True))
        elif rng.random() < 0.02:
            self._act(steps, m, Act(day, "donation", "chr_elderly_care", points=500))

    def _act(self, steps: dict, m: Member, act: Act) -> None:
        async def do() -> None:
            answer = await self.driver.act(m.sample.id, act)
            self.answers[f"{act.kind} {answer}"] += 1
        steps[act.at].append(do)

    async def publish(self, events: list) -> None:
        self.events += len(events)
        await self.world.publish(events)


async def simulate(n: int, seed: int, out: Path, progress: Callable[[str], None] = lambda _: None,
                   ) -> tuple[ProgrammeFigures, Programme]:
    begun = wall.monotonic()
    members = population(random.Random(seed), n)
    clock = YearClock(at(FIRST, 0))
    world = World(clock, analytics=True)
    try:
        await world.start()
        # Delivery receipts for the report's reach (the SMS providers' are accepted; WeChat's,
        # signed with the wall clock's time, are refused as stale: not delivered).
        world.sandbox.faults.drop_receipts = False
        driver = await Driver.of(world, [])
        programme = Programme(world, driver, members, seed)
        steps = programme.plan()
        for moment in sorted(steps):
            clock.set(moment)
            for step in steps[moment]:
                await step()
                await world.settle(timeout=900)
            if moment.day == 1 and moment.hour == 2:
                progress(f"{moment:%Y-%m}: {programme.events} events in"
                         f" ({wall.monotonic() - begun:.0f} s)")
        await world.flush()
        await world.settle(timeout=900)
        settings = AnalyticsSettings()
        async with world.services["analytics"].pool.acquire() as conn:
            figures = await load_figures(conn, REPORT_MONTH, settings.report_months,
                                         model=settings.model(), cities=settings.cities())
        files = write_report(figures, out)
        (out / f"figures-{REPORT_MONTH}.json").write_text(figures_to_json(figures),
                                                           encoding="utf-8")
        progress(f"report: {files.html} ({wall.monotonic() - begun:.0f} s)")
        return figures, programme
    finally:
        await world.stop()


def screenshot(html: Path, png: Path) -> None:
    """Debian's headless Chromium, as the report's browser test runs it."""
    browser = shutil.which("chromium")
    if not browser:
        raise SystemExit("Debian's chromium is not installed: run scripts/bootstrap")
    with tempfile.TemporaryDirectory() as profile:
        # As root Chromium needs --no-sandbox; the page is our own file.
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--user-data-dir={profile}",
                        f"--window-size={WINDOW}", f"--virtual-time-budget={BUDGET_MS}",
                        f"--screenshot={png}", html.as_uri()],
                       capture_output=True, text=True, timeout=300, check=True)


def summary(figures: ProgrammeFigures, programme: Programme, seconds: float) -> str:
    h = headline(figures)
    kinds = Counter(m.kind for m in programme.members)
    lines = [
        f"members: {len(programme.members)} ({', '.join(f'{k} {v}' for k, v in kinds.items())});"
        f" {programme.events} core-banking events; {seconds:.0f} s",
        f"{figures.month}: {h.members} members (before {h.members_before}), retention"
        f" {h.retention_rate}, churn {h.churn_rate}, breakage {h.breakage_rate:.4f},"
        f" outstanding {h.outstanding} points ({h.liability} CNY)",
        "acts: " + ", ".join(f"{k}: {v}" for k, v in sorted(programme.answers.items())),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.year.programme",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--out", type=Path, default=Path("artifacts/analytics-year"))
    parser.add_argument("--no-screenshot", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    begun = wall.monotonic()
    figures, programme = asyncio.run(simulate(
        args.members, args.seed, args.out, progress=lambda line: print(line, file=sys.stderr)))
    if not args.no_screenshot:
        screenshot(args.out / f"programme-report-{REPORT_MONTH}.html",
                   (args.out / "screenshot.png").resolve())
    print(summary(figures, programme, wall.monotonic() - begun))


if __name__ == "__main__":
    main()
