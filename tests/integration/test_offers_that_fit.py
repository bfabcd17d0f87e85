"""Offers that fit on the real broker and database (issue 16): the points service's monthly
job profiles each member's spending by industry (counts, no transactions) once per month
however often it runs; rewards picks up to three offers each can use (tier, city, not used
up), ranked by that spending, in one `offers.recommended`; notifications sends it as one
marketing message, to members with marketing consent only."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from contracts.corebanking.v1 import CardTransactionPosted, Merchant
from contracts.envelope import EncodedEvent, encode
from contracts.points.v1 import IndustrySpend, PointsSpendingProfiled
from contracts.topics import CARD_TRANSACTIONS_V1, MEMBERS_V1, POINTS_V1, REWARDS_V1
from runtime.relay import wait_until_drained
from services.points.app import build as points_build
from services.rewards.app import build as rewards_build
from services.rewards.domain.catalogue import OfferEntry
from tests.integration.fresh import fresh_world
from tests.integration.kafka_tools import eventually, produce, read_topic
from tests.integration.points_events import SHANGHAI, tier_changed
from tests.integration.test_notifications_support import (
    Member,
    contact,
    notifications_world,
    remember,
)

pytestmark = pytest.mark.integration
ALL = ("standard", "gold", "oto_fortune", "private_banking")


def next_month(day: date, n: int = 1) -> date:
    first = day.replace(day=1)
    for _ in range(n):
        first = (first + timedelta(days=32)).replace(day=1)
    return first


@pytest.fixture(scope="module")
async def world(infra):
    async with fresh_world({"points": points_build, "rewards": rewards_build}) as services:
        yield services["points"], services["rewards"]


def bought(member: str, mcc: str, city: str, amount: str, at: datetime) -> EncodedEvent:
    return encode(CardTransactionPosted(
        transaction_id=uuid.uuid4().hex, customer_id=member, card_token="tok_test_0001",
        merchant=Merchant(merchant_id=f"M{mcc}", name="商户", mcc=mcc, city=city, country="CN"),
        transaction_amount=Decimal(amount), transaction_currency="CNY",
        settlement_amount=Decimal(amount), settlement_currency="CNY", posted_at=at),
        source="urn:test:corebanking")


def offer(id_: str, industry: str, tiers=ALL, city: str | None = None, **kw) -> OfferEntry:
    return OfferEntry(id=id_, partner_id="ptn_test", merchant=kw.get("merchant", "测试商户"),
                      industry=industry, title=kw.get("title", f"测试商户 {id_}"),
                      points_price=1000, discount_percent=None, valid_from=date(2026, 1, 1),
                      valid_until=date(2029, 12, 31), eligible_tiers=tuple(tiers),
                      limit_per_period=2, period="month", cities=(city,) if city else ())


async def spend(points, rewards, spending: dict[str, tuple[str, list[tuple[str, str, str]]]]):
    """Each member's tier, then their purchases (mcc, city, amount) of yesterday."""
    bootstrap = points.settings.kafka_bootstrap_servers
    await produce(bootstrap, points.topic(MEMBERS_V1), [
        tier_changed(m, tier, date(2026, 1, 1)) for m, (tier, _) in spending.items()
        if tier != "standard"])
    yesterday = datetime.now(SHANGHAI) - timedelta(days=1)
    events = [bought(m, mcc, city, amount, yesterday)
              for m, (_, purchases) in spending.items() for mcc, city, amount in purchases]
    await produce(bootstrap, points.topic(CARD_TRANSACTIONS_V1), events)
    ids = list(spending)

    async def in_both() -> bool:
        earned = await points.pool.fetchval(
            "SELECT count(*) FROM earnings WHERE member_id = ANY($1)", ids)
        tiers = await rewards.pool.fetchval(
            "SELECT count(*) FROM members WHERE member_id = ANY($1)", ids)
        return earned == len(events) and tiers == sum(t != "standard"
                                                      for t, _ in spending.values())
    await eventually(in_both, timeout=30, what="purchases earned, tiers projected")


async def recommended(rewards, ids: list[str], expected: int, month: str) -> dict[str, dict]:
    await wait_until_drained(rewards.pool)
    keys = {m.encode() for m in ids}
    records = await read_topic(
        rewards.settings.kafka_bootstrap_servers, rewards.topic(REWARDS_V1),
        keep=lambda r: r.key in keys and dict(r.headers)["ce_type"] == b"offers.recommended"
        and json.loads(r.value)["month"] == month,
        until=lambda kept: len(kept) >= expected, settle=1.5)
    out = {}
    for r in records:
        assert r.key.decode() not in out, "one recommendation per member and month"
        out[r.key.decode()] = {"record": r, **json.loads(r.value)}
    return out


async def test_offers_that_fit_reach_members_with_consent_in_one_message(world, infra, pii):
    points, rewards = world
    city = f"测试{uuid.uuid4().hex[:6]}"  # only this test's offers are in it
    catalogue = [
        offer("t_sup", "supermarket", city=city, merchant="永辉超市", title="永辉超市 30元购物卡"),
        offer("t_din_gold", "dining", ("gold", "oto_fortune", "private_banking"), city,
              merchant="海底捞火锅", title="海底捞火锅 100元代金券"),
        offer("t_din_oto", "dining", ("oto_fortune", "private_banking"), city,
              merchant="大董烤鸭", title="大董烤鸭 用餐88折"),
        offer("t_hotel", "hotels", city=city, merchant="亚朵酒店", title="亚朵酒店 高级客房一晚"),
        offer("t_cinema", "cinema", city=city, merchant="万达影城", title="万达影城 2D电影票一张"),
        offer("t_cinema_pb", "cinema", ("private_banking",), city),  # not their tier
        offer("t_golf", "golf", city="另一城市"),                     # not their city
    ]
    for entry in catalogue:
        await rewards.catalogue.create(entry, "staff-test", "offers that fit")
    zh, en, no_consent, used_some, used_all = (
        Member(f"C{uuid.uuid4().int % 10**9:010d}", f"+86139{uuid.uuid4().int % 10**8:08d}",
               None) for _ in range(5))
    remember(pii, [zh, en, no_consent, used_some, used_all])
    spending = {
        # supermarket 5, dining 3, golf 1 (900 CNY, its offer in another city), hotels 1
        # (800 CNY) before cinema 1 (60 CNY)
        zh.id: ("gold", [("5411", city, "100")] * 5 + [("5812", city, "200")] * 3
                + [("7011", city, "800"), ("7832", city, "60"), ("7992", "另一城市", "900")]),
        # dining 4, cinema 2: their tier's own dining privilege first, then one of each
        en.id: ("oto_fortune", [("5812", city, "300")] * 4 + [("7832", city, "50")] * 2),
        no_consent.id: ("standard", [("5411", city, "80")] * 3),
        # cinema used up this month: the supermarket offer only
        used_some.id: ("gold", [("7832", city, "60")] * 2 + [("5411", city, "50")]),
        # the one offer of the only industry used up: nothing to recommend
        used_all.id: ("gold", [("7011", city, "600")]),
    }
    await spend(points, rewards, spending)
    month = next_month(datetime.now(SHANGHAI).date())
    key = month.strftime("%Y-%m")
    async with rewards.pool.acquire() as conn:  # what their redemptions took this month
        await conn.executemany(
            "INSERT INTO usage (member_id, item, period, used) VALUES ($1, $2, $3, 2)",
            [(used_some.id, "t_cinema", key), (used_all.id, "t_hotel", key)])

    assert await points.spending_profiles.run(points.unit_of_work, month) >= 5
    got = await recommended(rewards, list(spending), 4, key)
    assert {m: [o["offer_id"] for o in r["offers"]] for m, r in got.items()} == {
        zh.id: ["t_sup", "t_din_gold", "t_hotel"],
        en.id: ["t_din_oto", "t_cinema", "t_din_gold"],
        no_consent.id: ["t_sup"],
        used_some.id: ["t_sup"],
    }
    assert got[zh.id]["offers"][0] == {
        "offer_id": "t_sup", "merchant": "永辉超市", "industry": "supermarket",
        "title": "永辉超市 30元购物卡", "title_en": "Supermarket: reward for 1,000 points"}
    assert await rewards.pool.fetchval(
        "SELECT offers FROM recommendations WHERE member_id = $1", used_all.id) == []

    # Only counts crossed: the profile names industries and a city, no transaction.
    profiles = await read_topic(
        points.settings.kafka_bootstrap_servers, points.topic(POINTS_V1),
        keep=lambda r: r.key == zh.id.encode()
        and dict(r.headers)["ce_type"] == b"points.spending-profiled",
        until=lambda kept: len(kept) >= 1)
    profile = json.loads(profiles[0].value)
    assert profile["city"] == city and profile["month"] == key
    assert [(i["industry"], i["purchases"]) for i in profile["industries"]] == [
        ("supermarket", 5), ("dining", 3), ("golf", 1), ("hotels", 1), ("cinema", 1)]
    assert "transaction_id" not in profiles[0].value.decode()

    # Notifications: one marketing message each, with consent only, whatever the redelivery.
    day = datetime.now(SHANGHAI).replace(hour=10, minute=0, second=0, microsecond=0)
    async with notifications_world(infra, day) as w:
        await w.contacts([contact(zh, family="王", gender="female", marketing=True),
                          contact(en, family="Smith", language="en-US", marketing=True),
                          contact(no_consent, marketing=False),
                          contact(used_some, marketing=True)])
        records = [r["record"] for r in got.values()]
        await w.send(REWARDS_V1, [EncodedEvent(r.topic, r.key, r.value, list(r.headers))
                                  for r in records + records])  # delivered twice
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=3)
        await w.until("SELECT count(*) FROM messages", expected=4)
        rows = await w.service.pool.fetch(
            "SELECT member_id, state, reason, category FROM messages"
            " WHERE template = 'offers_recommended'")
        assert sorted(tuple(r) for r in rows) == sorted([
            (zh.id, "sent", None, "marketing"), (en.id, "sent", None, "marketing"),
            (used_some.id, "sent", None, "marketing"),
            (no_consent.id, "skipped", "no_consent", "marketing")])
        [to_zh] = w.sent_to(zh.mobile)
        [to_en] = w.sent_to(en.mobile)
        assert w.sent_to(no_consent.mobile) == []
        assert ("王女士，本月为您甄选的联盟商户优惠："
                "永辉超市 30元购物卡、海底捞火锅 100元代金券、亚朵酒店。") in to_zh["text"]
        # two dining offers are one "Dining" when the titles do not fit
        assert "Mr Smith, partner offers picked for you this month: Dining; Cinema." \
            in to_en["text"]
        assert to_zh["text"].endswith("回复TD或R退订")


async def test_the_monthly_job_publishes_each_profile_once(world):
    """Run twice after each other, and by two instances at once: one profile per member."""
    points, rewards = world
    city = f"测试{uuid.uuid4().hex[:6]}"
    members = [f"C{uuid.uuid4().int % 10**9:010d}" for _ in range(3)]
    await spend(points, rewards, {m: ("standard", [("5411", city, "10")] * 2) for m in members})
    month = next_month(datetime.now(SHANGHAI).date(), 2)
    chunked = type(points.spending_profiles)(points.spending_profiles.zone, chunk=2)
    runs = await asyncio.gather(chunked.run(points.unit_of_work, month),
                                chunked.run(points.unit_of_work, month))
    again = await points.spending_profiles.run(points.unit_of_work, month)
    active = await points.pool.fetchval(
        "SELECT count(DISTINCT member_id) FROM earnings WHERE earned_at >= $1",
        datetime.combine(month - timedelta(days=90), datetime.min.time(), SHANGHAI))
    assert (sum(runs), again) == (active, 0)
    assert tuple(await points.pool.fetchrow(
        "SELECT published, done_at IS NOT NULL FROM spending_profile_runs WHERE month = $1",
        month)) == (active, True)

    await wait_until_drained(points.pool)
    key = month.strftime("%Y-%m").encode()
    records = await read_topic(
        points.settings.kafka_bootstrap_servers, points.topic(POINTS_V1),
        keep=lambda r: dict(r.headers)["ce_type"] == b"points.spending-profiled"
        and key in r.value,
        until=lambda kept: len(kept) >= active, settle=1.5)
    assert len(records) == len({r.key for r in records}) == active
    assert {m.encode() for m in members} <= {r.key for r in records}


async def test_a_profile_of_a_past_month_recommends_nothing(world):
    """A replayed profile of last month is dropped; this month's, after it, is claimed."""
    _, rewards = world
    [member] = [f"C{uuid.uuid4().int % 10**9:010d}"]
    today = datetime.now(SHANGHAI).date()
    last = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")

    def profile(month: str) -> EncodedEvent:
        return encode(PointsSpendingProfiled(
            member_id=member, month=month, days=90, city=None, profiled_at=datetime.now(UTC),
            industries=[IndustrySpend(industry="ecommerce", purchases=3,
                                      spend_cny=Decimal("300"))]), source="urn:test:points")
    await produce(rewards.settings.kafka_bootstrap_servers, rewards.topic(POINTS_V1),
                  [profile(last), profile(today.strftime("%Y-%m"))])

    async def claimed() -> bool:
        return await rewards.pool.fetchval(
            "SELECT count(*) FROM recommendations WHERE member_id = $1", member) > 0
    await eventually(claimed, timeout=20, what="this month's profile claimed")
    rows = await rewards.pool.fetch(
        "SELECT month, offers FROM recommendations WHERE member_id = $1", member)
    # The demo catalogue's online shopping offers start at Gold: a Standard member gets none.
    assert [(r["month"], r["offers"]) for r in rows] == [(today.strftime("%Y-%m"), [])]
