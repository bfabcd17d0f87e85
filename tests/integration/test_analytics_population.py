"""A seeded population (tests/integration/analytics_population.py: members who grow, hold,
decline, close and lapse) flows through the analytics service from real events on its
topics; June's figures match the hand computation (docs/analytics.md), the staff API serves
them, and the month's call is published once."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import httpx
import pytest

from contracts.topics import ANALYTICS_V1
from services.analytics.commands import report
from services.analytics.domain.figures import (
    Count,
    LoungeUse,
    Move,
    PointsMonth,
    Reach,
    Redemptions,
    Retention,
)
from services.analytics.handlers.figures import load_figures
from services.analytics.report import figures_from_json
from tests.integration.analytics_population import SHANGHAI, population
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, produce_to, read_topic
from tests.tokens import staff_headers

pytestmark = pytest.mark.usefixtures("infra")
Q2 = ["2026-04", "2026-05", "2026-06"]


async def analytics_with_population():
    """Yields (service, letter -> member id) once every event is applied."""
    from services.analytics.app import build
    from tests.integration.fresh import fresh_service

    async with fresh_service(build, "analytics") as service:
        who, events = population(customers(6))
        await produce_to(service, events)
        await eventually(lambda: applied(service, len(events)), timeout=60,
                         what="every event applied")
        yield service, who


async def applied(service, count: int) -> bool:
    return await service.pool.fetchval("SELECT count(*) FROM inbox") >= count


@pytest.fixture
async def world():
    async for pair in analytics_with_population():
        yield pair


async def test_june_figures_match_the_hand_computation(world):
    service, who = world
    g, s, d, c, lapser, n = (who[x] for x in "GSDCLN")
    async with service.pool.acquire() as conn:
        figures = await load_figures(conn, "2026-06", 3, cities={"PEK": "北京"})

    assert figures.months == Q2
    retention = {(r.month, r.tier): r for r in figures.retention}
    assert [retention[(m, "standard")] for m in Q2] == [
        Retention("2026-04", "standard", 4, 4, 0),
        Retention("2026-05", "standard", 4, 2, 2),   # C closed, L lapsed
        Retention("2026-06", "standard", 3, 3, 0)]   # G, D, N
    assert [retention[(m, "gold")].at_start for m in Q2] == [1, 1, 1]
    assert retention[("2026-06", "all")] == Retention("2026-06", "all", 4, 4, 0)

    assert [(v.member_id, v.tier, v.lifetime_value, v.stage)
            for v in figures.most_valuable] == [
        (s, "gold", Decimal("37026.00"), "maturity"),   # 306 a month, r = 1: x 121
        (g, "gold", Decimal("1452.00"), "growth"),      # 12 a month x 121
        (n, "standard", Decimal("25.45"), "trial"),     # 4.8 x 1331/251
        (d, "standard", Decimal("22.27"), "decline"),   # 4.2 x 1331/251
        (lapser, "standard", Decimal("0.00"), "decline")]
    value = {v.tier: v for v in figures.lifetime_value}
    assert (value["gold"].members, value["gold"].total, value["gold"].p10) == (
        2, Decimal("38478.00"), Decimal("5009.40"))
    assert (value["standard"].members, value["standard"].mean,
            value["standard"].median) == (3, Decimal("15.91"), Decimal("22.27"))

    june = [x for x in figures.stages if x.month == "2026-06"]
    assert june == [Count("2026-06", "trial", 1), Count("2026-06", "growth", 1),
                    Count("2026-06", "maturity", 1), Count("2026-06", "decline", 2)]
    assert [x for x in figures.stage_moves if x.month == "2026-06"] == [
        Move("2026-06", "maturity", "decline", 1)]
    assert [(x.group, x.members) for x in figures.tier_mix if x.month == "2026-06"] == [
        ("standard", 3), ("gold", 2), ("oto_fortune", 0), ("private_banking", 0)]
    assert [x for x in figures.tier_moves if x.month == "2026-06"] == [
        Move("2026-06", "standard", "gold", 1)]

    assert figures.points == [PointsMonth("2026-04", 1000, 0, 0, 1000, Decimal("10.00")),
                              PointsMonth("2026-05", 500, 300, 0, 1150, Decimal("11.50")),
                              PointsMonth("2026-06", -100, 0, 200, 850, Decimal("8.50"))]
    assert figures.breakage_rate == 200 / 1400
    assert figures.redemptions == [Redemptions("lounge", 1, 300, 1, 1 / 5),
                                   Redemptions("offer", 1, 0, 1, 1 / 5),
                                   Redemptions("donation", 0, 0, 0, 0.0)]
    assert figures.lounges == [LoungeUse("PEK", "北京", 1, 1)]
    assert figures.reach[-1] == Reach("2026-06", messaged=2, reached=1, opted_out=1,
                                      members=5)
    assert [(x.member_id, x.reason) for x in figures.calls] == [
        (d, "entered_decline,sharp_drop")]
    assert c not in {v.member_id for v in figures.most_valuable}  # closed


async def test_staff_read_the_measures_and_the_report(world, tmp_path):
    service, who = world
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service.http),
                                 base_url="http://analytics") as http:
        assert (await http.get("/staff/analytics/figures?month=2026-06")).status_code == 401
        staff = staff_headers("rm-0001")
        answer = await http.get("/staff/analytics/most_valuable?month=2026-06&months=3",
                                headers=staff)
        assert answer.status_code == 200, answer.text
        assert answer.json()["most_valuable"][0] == {
            "rank": 1, "member_id": who["S"], "tier": "gold", "lifetime_value": "37026.00",
            "stage": "maturity"}
        every = (await http.get("/staff/analytics/figures?month=2026-06&months=3",
                                headers=staff)).json()
        assert every["retention"][-1]["retention_rate"] == 1.0
        assert every["breakage_rate"] == 200 / 1400
        page = await http.get("/staff/report?month=2026-06&months=3", headers=staff)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        sheet = await http.get("/staff/report?month=2026-06&months=3&format=csv",
                               headers=staff)
        assert sheet.headers["content-type"].startswith("text/csv")
        assert who["S"] in sheet.text

    # The command writes the same report, and the figures it was made from
    html, csv, saved = await report(service.settings, service.name, "2026-06", 3, tmp_path)
    assert html.read_text(encoding="utf-8") == page.text
    assert who["S"] in csv.read_text(encoding="utf-8-sig")
    assert figures_from_json(saved.read_bytes()).most_valuable[0].member_id == who["S"]


async def test_the_months_calls_are_published_once(world):
    service, who = world
    july = datetime(2026, 7, 5, 9, 0, tzinfo=SHANGHAI)
    # Before CALLS_FROM_DAY (5) June's asset snapshots may still be coming: nothing yet
    assert await service.calls.run(service.unit_of_work, july.replace(day=4)) == 0
    assert await service.calls.run(service.unit_of_work, july) == 1
    assert await service.calls.run(service.unit_of_work, july) == 0  # June is done
    bootstrap = service.settings.kafka_bootstrap_servers
    records = await read_topic(bootstrap, service.topic(ANALYTICS_V1),
                               until=lambda r: len(r) >= 1, settle=1.0)
    assert len(records) == 1
    call = json.loads(records[0].value)
    assert call["member_id"] == who["D"]
    assert (call["month"], call["reasons"], call["stage"]) == (
        "2026-06", ["entered_decline", "sharp_drop"], "decline")
    # The job's figures cover REPORT_MONTHS (12): standard retained 17 of 19 at the starts of
    # Feb-Jun, so 4.2 x (121/120) / (121/120 - 17/19) = 4.2 x 2299/259
    assert call["lifetime_value"] == "37.28"
