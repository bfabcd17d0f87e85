"""The year, tick by tick. The day before it, the members are onboarded and their assets of
the three months before are measured (their tiers as the year begins; what that sends is
not part of the year). Then each day has ticks at 08:00 (quiet hours end), 10:00 (greetings),
20:00 (the day's points summaries) and at every input's own time: core banking's month-end
asset snapshots (the 1st, 02:00), the spending profiles (the 1st, 03:00), card purchases,
a salon the staff schedule (rewards' staff API), and the members' acts through the rewards
API (a lounge visit, a points-paid offer, a donation, accepting the salon's invitation) or
the SMS provider (a stop reply).

At each tick the clock is set, the tick's inputs go in, the services settle (all consumed,
all published), rewards' salon jobs (invitations, the day-before reminders) and
notifications' two scheduled jobs (care days, points summaries and birthdays) run at the
simulated time, and the sender sends what is due.
"""

from __future__ import annotations

import json
import random
import time as wall
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx

from runtime.auth import dev_token
from services.rewards.partners import create_partner
from simulator.spending import CardSpending
from tools.partner_client import PartnerClient

from .cast import (
    PROFILE_AT,
    SNAPSHOT_AT,
    Act,
    Sample,
    at,
    cast,
    months,
    onboarding,
    purchases,
    salon,
    snapshot,
)
from .world import World, YearClock

DAILY = (time(8, 0), time(10, 0), time(20, 0))
#: The points-paid offer a member redeems (a Gold one, in Shanghai).
OFFER = "off_coffee_04_1"
WARM_UP_MONTHS = 3


@dataclass
class Year:
    start: date
    end: date
    samples: list[Sample]
    #: What the sandbox accepted during the year, in order (its `sent` entries).
    sent: list[dict[str, Any]]
    #: notifications' message log: id -> row (template, category, state, reason, cause).
    log: dict[str, dict[str, Any]]
    #: What each act got back: (member id, act, answer).
    acts: list[tuple[str, Act, str]] = field(default_factory=list)
    #: The marketing consent accounts holds at the end, and how it was withdrawn if it was.
    consents: dict[str, tuple[bool, str | None]] = field(default_factory=dict)
    seconds: float = 0.0
    ticks: int = 0


async def simulate(start: date, end: date, pick: Sequence[int] = range(5), seed: int = 16,
                   progress: Callable[[str], None] = lambda _: None) -> Year:
    begun = wall.monotonic()
    samples = cast(seed, start, end, pick)
    clock = YearClock(at(start - timedelta(days=1), 12))
    world = World(clock)
    try:
        await world.start()
        driver = await Driver.of(world, samples)
        rng = random.Random(seed + 1)
        # The day before: members and their tiers as the year begins.
        await world.publish(onboarding(samples))
        await world.settle()
        first = start.replace(day=1)
        measured = [(first - timedelta(days=28 * k)).replace(day=1)
                    for k in range(WARM_UP_MONTHS, 0, -1)]
        await world.publish([snapshot(rng, s, m, i, clock.now())
                             for i, m in enumerate(measured) for s in samples])
        await world.settle()
        await world.flush()
        before = len(world.sandbox.sent)
        plan = _plan(world, driver, rng, CardSpending(random.Random(seed + 2)), samples, start, end)
        acts: list[tuple[str, Act, str]] = []
        notifications = world.services["notifications"]
        for moment in sorted(plan):
            clock.set(moment)
            for step in plan[moment]:
                if isinstance(step, tuple):  # (member id, act)
                    acts.append((*step, await driver.act(*step)))
                else:
                    await step()
                await world.settle()
            if await driver.salon_jobs():
                await world.settle()
            await notifications.care_days.run_once()
            await notifications.jobs.run_once()
            await world.flush()
            if moment.day == 1 and moment.time() == DAILY[0]:
                progress(f"{moment:%Y-%m-%d}: {len(world.sandbox.sent) - before} messages"
                         f" so far ({wall.monotonic() - begun:.0f} s)")
        rows = await notifications.pool.fetch(
            "SELECT id::text, member_id, template, category, state, reason, cause_id,"
            " not_before FROM messages")
        consents = await world.services["accounts"].pool.fetch(
            "SELECT member_id, marketing, (SELECT via FROM consent_changes c"
            "  WHERE c.member_id = m.member_id AND c.consent = 'marketing' AND via IS NOT NULL"
            "  LIMIT 1) AS via FROM members m")
        return Year(start, end, samples, list(world.sandbox.sent[before:]),
                    {r["id"]: dict(r) for r in rows}, acts,
                    {r["member_id"]: (r["marketing"], r["via"]) for r in consents},
                    wall.monotonic() - begun, len(plan))
    finally:
        await world.stop()


Step = Callable[[], Awaitable[object]] | tuple[str, Act]


def _plan(world: World, driver: Driver, rng: random.Random, spending: CardSpending,
          samples: list[Sample], start: date, end: date) -> dict[datetime, list[Step]]:
    """What happens at each tick: inputs (callables) and members' acts."""
    plan: dict[datetime, list[Step]] = defaultdict(list)
    day = start
    while day <= end:
        for moment in DAILY:
            plan[at(day, moment.hour, moment.minute)] = []
        day += timedelta(days=1)
    for k, month in enumerate(months(start, end)):
        measured = (month - timedelta(days=1)).replace(day=1)
        snapshots = [(s, measured, WARM_UP_MONTHS + k) for s in samples]
        plan[at(month, SNAPSHOT_AT.hour)].append(
            lambda snapshots=snapshots: world.publish(
                [snapshot(rng, s, m, i, world.clock.now()) for s, m, i in snapshots]))
        points = world.services["points"]
        plan[at(month, PROFILE_AT.hour)].append(
            lambda month=month, points=points: points.spending_profiles.run(
                points.unit_of_work, month, now=world.clock.now()))
    bought: dict[datetime, list] = defaultdict(list)
    planned = salon(start, end)
    plan[planned["scheduled_at"]].append(lambda: driver.schedule_salon(planned["body"]))
    for sample in samples:
        for event in purchases(rng, spending, sample, start, end):
            bought[event.posted_at].append(event)
        for act in sample.acts:
            plan[act.at].append((sample.id, act))
    for moment, events in bought.items():
        plan[moment].insert(0, lambda events=events: world.publish(events))
    return plan


class Driver:
    """The inputs: core banking's records, the spending profiles, the members' acts."""

    def __init__(self, world: World, lounges: PartnerClient, offers: PartnerClient,
                 app: httpx.AsyncClient) -> None:
        self.world = world
        self.lounges = lounges
        self.offers = offers
        self.app = app
        self.mobiles: dict[str, str] = {}

    @classmethod
    async def of(cls, world: World, samples: list[Sample]) -> Driver:
        rewards = world.services["rewards"]
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=rewards.http),
                                 base_url="http://rewards", timeout=30)
        clients = []
        async with rewards.pool.acquire() as conn:
            for partner_id, scope in (("ptn_year_lounges", "lounge"),
                                      ("ptn_year_offers", "offers")):
                _, key_id, secret = await create_partner(
                    conn, rewards.settings.sealer(), name=partner_id, scopes=[scope],
                    lounges=["*"], offers=["*"], rate=1000, partner_id=partner_id)
                clients.append(PartnerClient(http, key_id, secret))
        driver = cls(world, *clients, http)
        driver.mobiles = {s.id: s.customer.mobile for s in samples}
        return driver

    async def act(self, member_id: str, act: Act) -> str:
        """Do it; what came back (status and outcome)."""
        if act.kind == "stop":
            status = await self.world.sandbox_app.state.reporter.reply(
                "aliyun", self.mobiles[member_id], act.item)
            return f"{status} reply {act.item!r} taken"
        member = {"Authorization": f"Bearer {dev_token('app', member_id)}"}
        if act.kind == "rsvp":
            answer = await self.app.post(f"/v1/app/members/{member_id}/salons/{act.item}/rsvp",
                                         json={"answer": "accept"}, headers=member)
        elif act.kind == "donation":
            answer = await self.app.post(
                f"/v1/app/members/{member_id}/donations",
                json={"charity_id": act.item, "points": act.points},
                headers=member | {"Idempotency-Key": uuid.uuid4().hex})
        elif act.kind == "lounge":
            answer = await self.lounges.redeem_lounge(
                await self.world.codes(member_id), act.item, allow_points=act.allow_points)
        else:
            answer = await self.offers.redeem_offer(await self.world.codes(member_id), OFFER)
        body = answer.json()
        outcome = body.get("status") or body.get("code") or body.get("error") or ""
        return f"{answer.status_code} {outcome}".strip()

    async def schedule_salon(self, body: dict) -> None:
        """Staff schedule the salon (rewards' staff API); its answer must be 201."""
        settings = self.world.services["rewards"].settings
        token = dev_token("staff", "staff-year", roles=[settings.staff_role,
                                                        settings.salons_role])
        answer = await self.app.post("/v1/staff/salons", content=json.dumps(
            body | {"reason": "the year's health talk"}, default=str),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        if answer.status_code != 201:
            raise RuntimeError(f"salon not scheduled: {answer.status_code} {answer.text}")

    async def salon_jobs(self) -> int:
        """Rewards' salon jobs at the year's now: invitations, the day-before reminders."""
        salons, now = self.world.services["rewards"].salons, self.world.clock.now()
        return await salons.invite(now) + await salons.remind(now)
