"""Issue 18's seeded population through the real services: core banking's records (customers
onboarded and closed, monthly asset snapshots, card purchases) and a lounge visit through
the rewards API go through accounts, points, rewards and notifications to the analytics
service, all in this process on the real broker and database under private names
(tools/year/world.py, its clock moved through the months). June 2026's figures, over
April-June, equal the hand computation below (formulas: docs/analytics.md).

    who  onboarded   assets (Nov 2025-Jun 2026)      card spend a month (MCC 5411)
    S    Jun 2025    200,000 each month              1,000 Dec-Jun                steady
    G    Jun 2025    20,000 to Apr, 80,000 May-Jun   1,000 Dec-Mar, 2,000 Apr-Jun grows
    D    Jun 2025    40,000 to May, 10,000 Jun       2,000 Dec-May, 200 Jun       declines
    L    Jun 2025    none                            300 Dec-Feb                  lapses
    C    Jun 2025    none                            500 Dec-Apr, closes 10 May   closes
    N    5 May 2026  none                            800 May-Jun                  new

Tiers (accounts, from the snapshots: gold from 50,000, effective the 1st after the month):
S gold from 1 Dec 2025 (November's 200,000); G gold from 1 June (May's 80,000); the others
standard. S visits the PEK lounge on 20 May (a gold allowance visit, no points).
Margins (0.006 x spend + 0.018 / 12 x assets = 0.0015 x assets):
    S 6 + 300 = 306 every month;  G 36 Dec-Mar, 12 + 30 = 42 Apr, 12 + 120 = 132 May-Jun;
    D 12 + 60 = 72 Dec-May, 1.2 + 15 = 16.2 Jun;  L 1.8 Dec-Feb, 0 after;  N 4.8 May-Jun.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from contracts.corebanking.v1 import AssetSnapshotTaken, CardTransactionPosted, Merchant
from services.analytics.domain.figures import (
    Count,
    LoungeUse,
    Move,
    PointsMonth,
    Redemptions,
    Retention,
)
from services.analytics.handlers.figures import load_figures
from simulator.population import closed, make_customers, onboarded
from tools.year.cast import Act, at
from tools.year.run import Driver
from tools.year.world import World, YearClock

pytestmark = pytest.mark.usefixtures("infra")
Q2 = ["2026-04", "2026-05", "2026-06"]
#: First days of the months with purchases, December 2025 to June 2026.
MONTHS = [date(2025, 12, 1)] + [date(2026, n, 1) for n in range(1, 7)]
OLD = datetime(2025, 6, 15, 10, 0, tzinfo=at(MONTHS[0], 0).tzinfo)


def spend(who: str, month: date) -> int:
    """CNY spent in the month (one purchase on the 15th)."""
    late = month >= date(2026, 4, 1)
    return {"S": 1000, "G": 2000 if late else 1000,
            "D": 200 if month == date(2026, 6, 1) else 2000,
            "L": 300 if month < date(2026, 3, 1) else 0,
            "C": 500 if month < date(2026, 5, 1) else 0,
            "N": 800 if month >= date(2026, 5, 1) else 0}[who]


def assets(who: str, month: date) -> int | None:
    """The month's average daily assets (snapshot), None without one."""
    return {"S": 200_000, "G": 80_000 if month >= date(2026, 5, 1) else 20_000,
            "D": 10_000 if month == date(2026, 6, 1) else 40_000}.get(who)


def purchase(customer, amount: int, posted_at: datetime) -> CardTransactionPosted:
    return CardTransactionPosted(
        transaction_id=uuid.uuid4().hex, customer_id=customer.customer_id,
        card_token=customer.card_tokens[0], merchant=Merchant(
            merchant_id="M5411", name="联华超市", mcc="5411", city="上海", country="CN"),
        transaction_amount=Decimal(amount), transaction_currency="CNY",
        settlement_amount=Decimal(amount), settlement_currency="CNY", posted_at=posted_at,
        channel="card")


def plan(world: World, driver: Driver, people: dict) -> dict[datetime, list]:
    """What happens when: (moment -> steps, each a coroutine function)."""
    steps: dict[datetime, list] = defaultdict(list)
    old = [people[x] for x in "SGDLC"]
    steps[at(date(2025, 11, 30), 12)].append(lambda: world.publish(
        [onboarded(c) for c in old]))
    for month in [date(2025, 11, 1), *MONTHS]:  # snapshots: the 1st after, 02:00
        taken = at((month + timedelta(days=32)).replace(day=1), 2)
        steps[taken].append(lambda month=month, taken=taken: world.publish([
            AssetSnapshotTaken(customer_id=c.customer_id, month=f"{month:%Y-%m}",
                               average_daily_assets=Decimal(amount), currency="CNY",
                               taken_at=taken)
            for who, c in people.items() if (amount := assets(who, month)) is not None]))
    for month in MONTHS:
        posted = at(month.replace(day=15), 12)
        steps[posted].append(lambda posted=posted, month=month: world.publish([
            purchase(c, amount, posted) for who, c in people.items()
            if (amount := spend(who, month))]))
    steps[people["N"].onboarded_at].append(lambda: world.publish([onboarded(people["N"])]))
    closing = at(date(2026, 5, 10), 10)
    steps[closing].append(lambda: world.publish([closed(people["C"], closing, None)]))
    visit = Act(at(date(2026, 5, 20), 10), "lounge", "PEK-T3-01")
    steps[visit.at].append(lambda: lounge(driver, people["S"].customer_id, visit))
    return steps


async def lounge(driver: Driver, member_id: str, act: Act) -> None:
    answer = await driver.act(member_id, act)
    assert answer.startswith("20"), answer


@pytest.fixture
async def world():
    clock = YearClock(at(date(2025, 11, 30), 12))
    world = World(clock, analytics=True)
    base = make_customers(random.Random(18), 6, OLD)
    people = {who: replace(c, onboarded_at=OLD) for who, c in zip("SGDLC", base, strict=False)}
    people["N"] = replace(base[5], onboarded_at=at(date(2026, 5, 5), 10))
    try:
        await world.start()
        driver = await Driver.of(world, [])
        steps = plan(world, driver, people)
        for moment in sorted(steps):
            clock.set(moment)
            for step in steps[moment]:
                await step()
                await world.settle()
        yield world, {who: c.customer_id for who, c in people.items()}
    finally:
        await world.stop()


async def test_june_figures_of_a_population_through_the_services(world):
    world, who = world
    s, g, d, lapser, n = (who[x] for x in "SGDLN")
    async with world.services["analytics"].pool.acquire() as conn:
        figures = await load_figures(conn, "2026-06", 3, cities={"PEK": "北京"})
    assert figures.months == Q2

    # Retention: at a month's start, the members open and not lapsed at the end of the month
    # before, by their tier then. April: S (gold); G, D, L (Jan active), C (standard), all
    # kept. May: C closes, L lapses (no purchase in Mar-May). June: S (gold); G (gold only
    # from 1 June), D, N (enrolled in May, active) standard; all kept.
    retention = {(r.month, r.tier): r for r in figures.retention}
    assert [retention[(m, "standard")] for m in Q2] == [
        Retention("2026-04", "standard", 4, 4, 0),
        Retention("2026-05", "standard", 4, 2, 2),
        Retention("2026-06", "standard", 3, 3, 0)]
    assert [retention[(m, "gold")] for m in Q2] == [
        Retention(m, "gold", 1, 1, 0) for m in Q2]
    assert [retention[(m, "all")] for m in Q2] == [
        Retention("2026-04", "all", 5, 5, 0), Retention("2026-05", "all", 5, 3, 2),
        Retention("2026-06", "all", 4, 4, 0)]

    # Lifetime value: the average margin of Apr-Jun (from the enrolment month on) x
    # (1 + d) / (1 + d - r), d = 0.1 / 12. Gold kept 3 of 3 (r = 1: x 121); standard 9 of
    # 11 (r = 9/11: x 1331/251). S 306 x 121; G (42 + 132 + 132)/3 = 102 x 121;
    # D (72 + 72 + 16.2)/3 = 53.4 x 1331/251 = 283.17; N (4.8 + 4.8)/2 x 1331/251 = 25.45;
    # L 0. C is closed: not listed.
    assert [(v.member_id, v.tier, v.lifetime_value, v.stage)
            for v in figures.most_valuable] == [
        (s, "gold", Decimal("37026.00"), "maturity"),
        (g, "gold", Decimal("12342.00"), "growth"),
        (d, "standard", Decimal("283.17"), "decline"),
        (n, "standard", Decimal("25.45"), "trial"),
        (lapser, "standard", Decimal("0.00"), "decline")]
    value = {v.tier: v for v in figures.lifetime_value}
    assert (value["gold"].members, value["gold"].total) == (2, Decimal("49368.00"))
    assert (value["standard"].members, value["standard"].median) == (3, Decimal("25.45"))

    # Stages in June (recent Apr-Jun against Jan-Mar): S 306 = 306 maturity; G 102 >= 1.1 x
    # 36 growth; D 53.4 <= 0.8 x 72 decline (May: Mar-May 72 against Dec-Feb 72, maturity);
    # L 0 against 1.2 decline; N trial (May, June, July). The one move: D maturity -> decline.
    assert [x for x in figures.stages if x.month == "2026-06"] == [
        Count("2026-06", "trial", 1), Count("2026-06", "growth", 1),
        Count("2026-06", "maturity", 1), Count("2026-06", "decline", 2)]
    assert [x for x in figures.stage_moves if x.month == "2026-06"] == [
        Move("2026-06", "maturity", "decline", 1)]

    # Tier mix at June's end (open members: L lapsed is still open): standard D, L, N; gold
    # S, G; and G's move on 1 June.
    assert [(x.group, x.members) for x in figures.tier_mix if x.month == "2026-06"] == [
        ("standard", 3), ("gold", 2), ("oto_fortune", 0), ("private_banking", 0)]
    assert [x for x in figures.tier_moves if x.month == "2026-06"] == [
        Move("2026-06", "standard", "gold", 1)]

    # Points, 1 a CNY x the tier's multiplier (gold 1.2): Dec-Feb 1,200 + 1,000 + 2,000 +
    # 300 + 500 = 5,000 a month; Mar 4,700 (L stops); Apr 1,200 + 2,000 + 2,000 + 500 =
    # 5,700; May 1,200 + 2,000 + 2,000 + 800 = 6,000, C's 5 x 500 = 2,500 forfeited on
    # closing; Jun 1,200 + 2,400 (G gold) + 200 + 800 = 4,600. Outstanding: 15,000 + 4,700
    # + 5,700 = 25,400 at April's end, + 6,000 - 2,500 = 28,900, + 4,600 = 33,500.
    assert figures.points == [
        PointsMonth("2026-04", 5700, 0, 0, 25400, Decimal("254.00")),
        PointsMonth("2026-05", 6000, 0, 0, 28900, Decimal("289.00")),
        PointsMonth("2026-06", 4600, 0, 0, 33500, Decimal("335.00"))]
    assert figures.breakage_rate == 0.0

    # S's lounge visit: 1 of the 5 members active in Apr-Jun (S, G, D, C, N); no guests.
    assert figures.redemptions == [Redemptions("lounge", 1, 0, 1, 1 / 5),
                                   Redemptions("offer", 0, 0, 0, 0.0),
                                   Redemptions("donation", 0, 0, 0, 0.0)]
    assert figures.lounges == [LoungeUse("PEK", "北京", 1, 0)]

    # The call: D entered decline, and June's 200 is below half of Mar-May's 2,000.
    assert [(x.member_id, x.reason) for x in figures.calls] == [
        (d, "entered_decline,sharp_drop")]
