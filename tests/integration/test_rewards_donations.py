"""Giving points on the real broker and database: a member donates points to a charity
partner from the app (their own token), a redemption of its own kind through the saga with
the points service; never beyond the balance, once per Idempotency-Key; the thank-you is
queued by notifications in the member's language; the year's total is the member's own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from contracts.envelope import EncodedEvent, encode
from contracts.points.v1 import PointsDebited
from contracts.topics import CARD_TRANSACTIONS_V1, POINTS_V1, REWARDS_V1
from runtime.relay import wait_until_drained
from services.points.app import build as points_build
from services.points.settings import PointsSettings
from services.rewards.app import build as rewards_build
from services.rewards.settings import RewardsSettings
from tests.integration.fresh import customers, fresh_world
from tests.integration.kafka_tools import eventually, produce, read_topic
from tests.integration.points_events import SHANGHAI, purchase
from tests.integration.test_notifications_support import (
    contact,
    members,
    notifications_world,
    remember,
)
from tests.tokens import Issuer

pytestmark = pytest.mark.integration
HOPE = "chr_project_hope"  # 希望工程 / Project Hope, 100 to 200,000 points a donation


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> Issuer:
    folder: Path = tmp_path_factory.mktemp("idp")
    return Issuer(folder, "app", algorithm="RS256")


@pytest.fixture(scope="module")
async def world(infra, issuer):
    trust = issuer.settings()
    builds = {
        "points": lambda n, p: points_build(n, p, PointsSettings(**trust)),
        "rewards": lambda n, p: rewards_build(n, p, RewardsSettings(
            **trust, saga_wait_seconds=10)),
    }
    async with fresh_world(builds) as services:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=services["rewards"].http),
                                   base_url="http://rewards", timeout=30)
        yield services["rewards"], services["points"], client
        await client.aclose()


async def with_balance(points, member_ids: list[str], amount: str = "7000") -> dict[str, int]:
    """Each member earns points from a purchase; their balances once credited."""
    bootstrap = points.settings.kafka_bootstrap_servers
    await produce(bootstrap, points.topic(CARD_TRANSACTIONS_V1),
                  [purchase(m, amount) for m in member_ids])

    async def credited() -> bool:
        return await points.pool.fetchval(
            "SELECT count(*) FROM balances WHERE member_id = ANY($1) AND points > 0",
            member_ids) == len(member_ids)
    await eventually(credited, timeout=30, what="purchases credited")
    return dict(await points.pool.fetch(
        "SELECT member_id, points FROM balances WHERE member_id = ANY($1)", member_ids))


async def balance(points, member: str) -> int:
    return await points.pool.fetchval("SELECT points FROM balances WHERE member_id = $1",
                                      member)


def donate(client, issuer, member: str, points: int, key: str | None, *,
           charity: str = HOPE, as_member: str | None = None):
    headers = issuer.bearer(as_member or member) | ({"Idempotency-Key": key} if key else {})
    return client.post(f"/v1/app/members/{member}/donations",
                       json={"charity_id": charity, "points": points}, headers=headers)


def ce_type(record) -> str:
    return dict(record.headers)["ce_type"].decode()


async def test_a_donation_is_debited_confirmed_once_and_thanked(world, issuer, infra, pii):
    rewards, points, client = world
    zh, en = members(2, wechat=False)
    remember(pii, [zh, en])
    start = await with_balance(points, [zh.id, en.id])

    # Through the saga: the points service debits, the app hears 201 confirmed.
    given = await donate(client, issuer, zh.id, 500, "gift-1")
    assert given.status_code == 201, given.text
    body = given.json()
    assert (body["status"], body["charity_id"], body["charity"], body["charity_en"],
            body["points"]) == ("confirmed", HOPE, "希望工程", "Project Hope", 500)
    assert await balance(points, zh.id) == start[zh.id] - 500

    # The same key again, one after the other and five at once: one donation.
    again = await donate(client, issuer, zh.id, 500, "gift-1")
    assert (again.status_code, again.content) == (201, given.content)
    burst = await asyncio.gather(*(donate(client, issuer, en.id, 300, "gift-2")
                                   for _ in range(5)))
    assert {(r.status_code, r.content) for r in burst} == {(201, burst[0].content)}
    assert await balance(points, en.id) == start[en.id] - 300
    assert await rewards.pool.fetchval(
        "SELECT count(*) FROM redemptions WHERE kind = 'donation' AND member_id = ANY($1)",
        [zh.id, en.id]) == 2
    # Another request under a used key is refused, and donates nothing.
    other = await donate(client, issuer, zh.id, 900, "gift-1")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert await balance(points, zh.id) == start[zh.id] - 500

    # What rewards published reaches notifications: a thank-you in each member's language.
    await wait_until_drained(rewards.pool)
    ids = {zh.id.encode(), en.id.encode()}
    records = await read_topic(
        rewards.settings.kafka_bootstrap_servers, rewards.topic(REWARDS_V1),
        keep=lambda r: r.key in ids, until=lambda kept: len(kept) >= 4, settle=1.0)
    assert sorted(ce_type(r) for r in records) == [
        "redemption.confirmed", "redemption.confirmed", "redemption.requested",
        "redemption.requested"]
    day = datetime.now(SHANGHAI).replace(hour=10, minute=0, second=0, microsecond=0)
    async with notifications_world(infra, day) as w:
        await w.contacts([contact(zh, family="王", gender="female"),
                          contact(en, family="Smith", gender="male", language="en-US")])
        await w.send(REWARDS_V1, [EncodedEvent(r.topic, r.key, r.value, list(r.headers))
                                  for r in records + records])  # delivered twice
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=2)
        rows = await w.service.pool.fetch("SELECT member_id, template, category FROM messages")
        assert sorted(tuple(r) for r in rows) == sorted([
            (zh.id, "donation_thanks", "transactional"),
            (en.id, "donation_thanks", "transactional")])
        [to_zh] = w.sent_to(zh.mobile)
        [to_en] = w.sent_to(en.mobile)
        assert "王女士，衷心感谢您捐赠500积分支持希望工程" in to_zh["text"]
        assert "Mr Smith, thank you most sincerely for donating 300 points to Project Hope" \
            in to_en["text"]


async def test_a_donation_above_the_balance_is_rejected_and_nothing_is_debited(world, issuer):
    rewards, points, client = world
    [member] = customers(1)
    start = (await with_balance(points, [member]))[member]

    refused = await donate(client, issuer, member, start + 1, "too-much")
    assert (refused.status_code, refused.json()["code"]) == (422, "insufficient_points")
    donation_id = refused.json()["redemption_id"]
    assert await balance(points, member) == start
    assert tuple(await points.pool.fetchrow(
        "SELECT outcome, reason FROM debits WHERE debit_id = $1", donation_id)) == (
        "rejected", "insufficient_points")
    assert await points.pool.fetchval("SELECT count(*) FROM debit_lots WHERE debit_id = $1",
                                      donation_id) == 0
    assert await rewards.pool.fetchval(
        "SELECT status || ':' || reason FROM redemptions WHERE id = $1",
        donation_id) == "rejected:insufficient_points"
    # Retried, the same answer; the whole balance can still be given.
    again = await donate(client, issuer, member, start + 1, "too-much")
    assert (again.status_code, again.content) == (422, refused.content)
    everything = await donate(client, issuer, member, start, "all-of-it")
    assert everything.status_code == 201, everything.text
    assert await balance(points, member) == 0

    # Refused before the saga: bounds, unknown charities, a missing key. Nothing debited.
    for points_, charity, code in ((99, HOPE, "donation_out_of_range"),
                                   (200_001, HOPE, "donation_out_of_range"),
                                   (100, "chr_nobody", "unknown_charity")):
        answer = await donate(client, issuer, member, points_, f"bad-{points_}-{charity}",
                              charity=charity)
        assert (answer.status_code, answer.json()["code"]) == (422, code)
    missing = await donate(client, issuer, member, 100, None)
    assert (missing.status_code, missing.json()["code"]) == (400, "idempotency_key_missing")
    assert await rewards.pool.fetchval(
        "SELECT count(*) FROM redemptions WHERE member_id = $1", member) == 2


async def test_the_yearly_total_is_the_members_own(world, issuer):
    rewards, points, client = world
    member, other, unknown = customers(3)
    start = (await with_balance(points, [member]))[member]
    for n, amount in enumerate((1000, 2500, 400)):
        made = await donate(client, issuer, member, amount, f"year-{n}",
                            charity="chr_spring_buds")
        assert made.status_code == 201, made.text
    rejected = await donate(client, issuer, member, start, "year-over")  # 3,900 already gone
    assert rejected.status_code == 422

    this_year = datetime.now(SHANGHAI).year
    statement = await client.get(f"/v1/app/members/{member}/donations",
                                 params={"year": this_year}, headers=issuer.bearer(member))
    assert statement.status_code == 200, statement.text
    year = statement.json()
    assert (year["year"], year["total_points"], year["count"]) == (this_year, 3900, 3)
    assert [(d["points"], d["status"]) for d in year["items"]] == [
        (1000, "confirmed"), (2500, "confirmed"), (400, "confirmed"), (start, "rejected")]
    default = await client.get(f"/v1/app/members/{member}/donations",
                               headers=issuer.bearer(member))
    assert default.json() == year
    last_year = await client.get(f"/v1/app/members/{member}/donations",
                                 params={"year": this_year - 1}, headers=issuer.bearer(member))
    assert (last_year.json()["total_points"], last_year.json()["items"]) == (0, [])
    charities = await client.get(f"/v1/app/members/{member}/charities",
                                 headers=issuer.bearer(member))
    assert {c["id"] for c in charities.json()} >= {HOPE, "chr_spring_buds"}

    # Without a token: 401. Another member's statement, or a donation in their name: the
    # very 404 an unknown member's gets, and nothing is donated.
    for method, path, body in (("GET", "donations", None), ("GET", "charities", None),
                               ("POST", "donations", {"charity_id": HOPE, "points": 100})):
        anonymous = await client.request(method, f"/v1/app/members/{member}/{path}",
                                         json=body, headers={"Idempotency-Key": "k"})
        assert anonymous.status_code == 401, (method, path)
        theirs = await client.request(method, f"/v1/app/members/{member}/{path}", json=body,
                                      headers=issuer.bearer(other) | {"Idempotency-Key": "k"})
        nobodys = await client.request(method, f"/v1/app/members/{unknown}/{path}", json=body,
                                       headers=issuer.bearer(other) | {"Idempotency-Key": "k"})
        assert theirs.status_code == nobodys.status_code == 404, (method, path, theirs.text)
        assert theirs.json() == nobodys.json()
    assert await balance(points, member) == start - 3900
    assert await rewards.pool.fetchval(
        "SELECT count(*) FROM redemptions WHERE member_id = $1", member) == 4


async def test_without_an_answer_in_time_202_and_a_retry_hears_the_outcome(infra, issuer):
    """No points service in this world: the points' answer is produced here, late."""
    trust = issuer.settings()
    build = {"rewards": lambda n, p: rewards_build(n, p, RewardsSettings(
        **trust, saga_wait_seconds=0.5))}
    async with fresh_world(build) as services:
        rewards = services["rewards"]
        [member] = customers(1)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=rewards.http),
                                     base_url="http://rewards", timeout=30) as client:
            waiting = await donate(client, issuer, member, 800, "late-1")
            assert waiting.status_code == 202, waiting.text
            assert waiting.json()["status"] == "pending"
            again = await donate(client, issuer, member, 800, "late-1")
            assert (again.status_code, again.json()["id"]) == (202, waiting.json()["id"])
            await produce(rewards.settings.kafka_bootstrap_servers, rewards.topic(POINTS_V1), [
                encode(PointsDebited(member_id=member, debit_id=waiting.json()["id"],
                                     points=800, balance_after=0,
                                     debited_at=datetime.now(UTC)), source="urn:test:points")])

            async def confirmed() -> bool:
                answer = await donate(client, issuer, member, 800, "late-1")
                return answer.status_code == 201 and answer.json()["status"] == "confirmed"
            await eventually(confirmed, timeout=20, what="late debit settles the donation")
