"""The catalogue on the real broker and database: staff changes (audited, announced keyed by
partner) reach another instance without a restart; who may call what; members browse by
city, industry and tier, page by page; partners read only their own entries."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from contracts.topics import REWARDS_V1
from runtime import db
from services.rewards import app as rewards_app
from services.rewards.app import build
from services.rewards.partners import create_partner
from tests.integration.fresh import _remove, customers
from tests.integration.kafka_tools import eventually, read_topic
from tests.integration.ops_cli import ops
from tests.tokens import member_headers, staff_headers
from tools.partner_client import PartnerClient

pytestmark = pytest.mark.integration
def manager() -> dict[str, str]:
    # Made when used: a token made at import would outlive its lifetime in a long run.
    return staff_headers("cat-0001", "loyalty-staff", "loyalty-catalogue")

OFFERS = "/v1/staff/catalogue/offers"


@asynccontextmanager
async def two_instances(monkeypatch) -> AsyncIterator[tuple]:
    """Two instances of one rewards service (one schema, one consumer group)."""
    monkeypatch.setenv("CATALOGUE_REFRESH_SECONDS", "0.2")
    world = uuid.uuid4().hex[:8]
    name, prefix = f"rewards_{world}", f"test.{world}."
    async with contextlib.AsyncExitStack() as stack:
        instances = []
        for _ in range(2):
            service = build(name, prefix)
            if not instances:
                stack.push_async_callback(_remove, service)  # last: topics and schema
            await service.start()
            stack.push_async_callback(service.stop)
            service.client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=service.http), base_url="http://rewards",
                timeout=30)
            stack.push_async_callback(service.client.aclose)
            instances.append(service)
        yield tuple(instances)


@pytest.fixture
async def rewards(infra, monkeypatch):
    async with two_instances(monkeypatch) as instances:
        yield instances


async def partner(service, partner_id: str | None = None) -> PartnerClient:
    async with service.pool.acquire() as conn:
        _, key_id, secret = await create_partner(
            conn, service.settings.sealer(), name="伙伴", scopes=["lounge", "offers"],
            lounges=["*"], offers=["*"], rate=1000, partner_id=partner_id)
    return PartnerClient(service.client, key_id, secret)


async def code_for(service, member: str) -> str:
    response = await service.client.post(f"/v1/app/members/{member}/redemption-codes",
                                         headers=member_headers(member))
    assert response.status_code == 201, response.text
    return response.json()["code"]


def new_offer(offer_id: str, **changes) -> dict:
    return {"id": offer_id, "partner_id": "ptn_test_beauty", "merchant": "测试美容",
            "industry": "beauty", "title": "测试美容 护理体验", "discount_percent": 15,
            "valid_from": "2026-01-01", "valid_until": "2099-12-31",
            "eligible_tiers": ["standard", "gold"], "limit_per_period": 3, "period": "year",
            "cities": ["珠海"], "reason": "new alliance merchant", **changes}


async def browse(service, member: str, **params) -> httpx.Response:
    return await service.client.get(f"/v1/app/members/{member}/catalogue/offers",
                                     params=params, headers=member_headers(member))


async def test_staff_changes_reach_the_other_instance_audited_and_announced(rewards):
    a, b = rewards
    member = customers(1)[0]
    on_b = await partner(b)
    offer_id = f"off_test_{uuid.uuid4().hex[:8]}"

    created = await a.client.post(OFFERS, json=new_offer(offer_id), headers=manager())
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "active" and created.json()["version"] > 0

    async def offered_on_b() -> list[dict]:
        found = await browse(b, member, city="珠海", industry="beauty", limit=100)
        return [o for o in found.json()["items"] if o["id"] == offer_id]
    await eventually(offered_on_b, timeout=10, what="the new offer on the other instance")
    redeemed = await on_b.redeem_offer(await code_for(b, member), offer_id)
    assert redeemed.status_code == 201, redeemed.text

    changed = await a.client.patch(f"{OFFERS}/{offer_id}", headers=manager(),
                                   json={"title": "测试美容 焕新护理", "reason": "renamed"})
    assert changed.status_code == 200, changed.text

    async def renamed_on_b() -> bool:
        return any(o["title"] == "测试美容 焕新护理" for o in await offered_on_b())
    await eventually(renamed_on_b, timeout=10, what="the change on the other instance")

    # Scheduled from tomorrow: not offered today, not redeemable today, on either instance.
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    scheduled = await a.client.patch(f"{OFFERS}/{offer_id}", headers=manager(),
                                     json={"valid_from": tomorrow})
    assert scheduled.status_code == 200, scheduled.text

    async def gone_from_b() -> bool:
        return not await offered_on_b()
    await eventually(gone_from_b, timeout=10, what="the schedule on the other instance")
    early = await on_b.redeem_offer(await code_for(b, member), offer_id)
    assert (early.status_code, early.json()["code"]) == (422, "not_eligible")

    withdrawn = await a.client.post(f"{OFFERS}/{offer_id}/withdraw", headers=manager(),
                                    json={"reason": "merchant left the alliance"})
    assert withdrawn.json()["status"] == "withdrawn"

    async def unknown_on_b() -> bool:
        answer = await on_b.redeem_offer(await code_for(b, member), offer_id)
        return answer.json()["code"] == "unknown_offer"
    await eventually(unknown_on_b, timeout=10, what="the withdrawal on the other instance")
    again = await a.client.patch(f"{OFFERS}/{offer_id}", headers=manager(), json={"title": "x"})
    assert (again.status_code, again.json()["code"]) == (409, "entry_withdrawn")

    # The audit: who, when, what before and after, why; read through either instance.
    audit = await b.client.get("/v1/staff/catalogue/changes",
                               params={"partner_id": "ptn_test_beauty"}, headers=manager())
    rows = audit.json()["changes"]
    assert [r["change"] for r in rows] == ["created", "changed", "changed", "withdrawn"]
    assert {r["staff_id"] for r in rows} == {"cat-0001"}
    assert rows[0]["before"] is None and rows[0]["reason"] == "new alliance merchant"
    assert rows[1]["before"]["title"] == "测试美容 护理体验"
    assert rows[1]["after"]["title"] == "测试美容 焕新护理"
    assert rows[2]["after"]["valid_from"] == tomorrow
    assert rows[3]["reason"] == "merchant left the alliance"
    assert [r["version"] for r in rows] == sorted(r["version"] for r in rows)

    # Each change announced once, keyed by the partner.
    records = await read_topic(
        a.settings.kafka_bootstrap_servers, a.topic(REWARDS_V1),
        until=lambda kept: len(kept) >= 4, settle=1.0,
        keep=lambda r: dict(r.headers).get("ce_type") == b"catalogue.entry-changed")
    assert {r.key for r in records} == {b"ptn_test_beauty"}
    events = [json.loads(r.value) for r in records]
    assert [e["change"] for e in events] == ["created", "changed", "changed", "withdrawn"]
    assert [e["version"] for e in events] == [r["version"] for r in rows]


async def test_only_authenticated_catalogue_staff_change_it(rewards):
    a, _ = rewards
    offer_id = f"off_test_{uuid.uuid4().hex[:8]}"
    body = new_offer(offer_id)
    for headers, status in (
            ({}, 401),
            ({"Authorization": "Bearer not-a-token"}, 401),
            (member_headers("C0000000001"), 401),               # another issuer's token
            (staff_headers("rm-0001", "loyalty-staff"), 403),   # no catalogue role
            (staff_headers("rm-0002", "loyalty-catalogue"), 403)):  # not staff
        answer = await a.client.post(OFFERS, json=body, headers=headers)
        assert answer.status_code == status, (headers, answer.text)
        audit = await a.client.get("/v1/staff/catalogue/changes", headers=headers)
        assert audit.status_code == status
    assert await a.pool.fetchval("SELECT count(*) FROM offers WHERE id = $1", offer_id) == 0
    # Authenticated, but the offer breaks the rules: nothing written, nothing audited.
    both = await a.client.post(OFFERS, json=new_offer(offer_id, points_price=500),
                               headers=manager())
    assert (both.status_code, both.json()["code"]) == (422, "invalid_entry")
    backwards = await a.client.post(OFFERS, headers=manager(), json=new_offer(
        offer_id, valid_from="2027-01-02", valid_until="2027-01-01"))
    assert backwards.status_code == 422
    assert await a.pool.fetchval("SELECT count(*) FROM catalogue_changes") == 0
    exists = await a.client.post(OFFERS, headers=manager(), json=new_offer("off_coffee_00_0"))
    assert (exists.status_code, exists.json()["code"]) == (409, "entry_exists")
    missing = await a.client.post("/v1/staff/catalogue/lounges/XXX-T1-01/withdraw",
                                  headers=manager(), json={"reason": "no such lounge"})
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    # Members browse only their own; partners' routes are signed.
    member, other = customers(2)
    assert (await a.client.get(f"/v1/app/members/{member}/catalogue/offers")).status_code == 401
    assert (await a.client.get(f"/v1/app/members/{member}/catalogue/offers",
                               headers=member_headers(other))).status_code == 404
    assert (await a.client.get("/v1/catalogue")).status_code == 401


async def test_members_browse_by_city_industry_and_tier_page_by_page(rewards):
    a, _ = rewards
    gold, standard = customers(2)
    await a.pool.execute("INSERT INTO members (member_id, tier, changed_at)"
                         " VALUES ($1, 'gold', now()), ($2, 'standard', now())", gold, standard)
    seen: list[str] = []
    after = None
    while True:
        params = {"city": "珠海", "limit": 7} | ({"after": after} if after else {})
        found = (await browse(a, gold, **params)).json()
        assert found["tier"] == "gold" and len(found["items"]) <= 7
        for item in found["items"]:
            assert not item["cities"] or "珠海" in item["cities"]
            assert "gold" in item["eligible_tiers"] and item["redeemable"]
        seen += [item["id"] for item in found["items"]]
        after = found["next_after"]
        if after is None:
            break
    assert len(seen) > 7 and seen == sorted(set(seen))  # every page, none twice, in order
    whole = (await browse(a, gold, city="珠海", limit=100)).json()
    assert [o["id"] for o in whole["items"]] == seen[:100]

    beauty = (await browse(a, gold, industry="beauty", limit=100)).json()["items"]
    assert beauty and {o["industry"] for o in beauty} == {"beauty"}
    # Another tier's offers: shown, but not redeemable by this member.
    premium = (await browse(a, standard, tier="oto_fortune", limit=100)).json()["items"]
    assert any(not o["redeemable"] for o in premium)
    mine = (await browse(a, standard, limit=100)).json()["items"]
    assert mine and all(o["redeemable"] for o in mine)
    assert len(mine) < len(premium)

    # What is left this period, after a redemption.
    client = await partner(a)
    free = "off_coffee_02_2"  # 4 a month, every tier
    assert (await client.redeem_offer(await code_for(a, gold), free)).status_code == 201
    coffee = (await browse(a, gold, industry="coffee", limit=100)).json()["items"]
    left = next(o for o in coffee if o["id"] == free)
    assert (left["used"], left["remaining"], left["limit_per_period"]) == (1, 3, 4)

    lounges = (await a.client.get(f"/v1/app/members/{gold}/catalogue/lounges",
                                  params={"city": "珠海"}, headers=member_headers(gold))).json()
    assert lounges["items"] and {x["airport_code"] for x in lounges["items"]} == {"ZUH"}
    assert (lounges["lounge"]["allowance"], lounges["lounge"]["remaining"]) == (2, 2)


async def test_partners_read_their_own_entries_and_changes_only(rewards):
    a, b = rewards
    coffee, lounges = await partner(a, "ptn_coffee_00"), await partner(a, "ptn_dragonpass")
    own = (await coffee.request("GET", "/v1/catalogue")).json()
    assert own["offers"] and {o["partner_id"] for o in own["offers"]} == {"ptn_coffee_00"}
    assert own["lounges"] == []
    operated = (await lounges.request("GET", "/v1/catalogue")).json()
    assert operated["offers"] == [] and operated["lounges"]
    assert {x["operator_id"] for x in operated["lounges"]} == {"ptn_dragonpass"}
    lounge_id = operated["lounges"][0]["id"]

    changed = await b.client.patch(f"{OFFERS}/off_coffee_00_1", headers=manager(),
                                   json={"limit_per_period": 3, "reason": "more per month"})
    assert changed.status_code == 200, changed.text
    closed = await b.client.patch(f"/v1/staff/catalogue/lounges/{lounge_id}", headers=manager(),
                                  json={"valid_until": "2026-01-31"})
    assert closed.status_code == 200, closed.text

    heard = (await coffee.request("GET", "/v1/catalogue/changes")).json()["changes"]
    assert [(c["entry_id"], c["change"]) for c in heard] == [("off_coffee_00_1", "changed")]
    assert heard[0]["staff_id"] is None and heard[0]["after"]["limit_per_period"] == 3
    lounge_changes = (await lounges.request(
        "GET", "/v1/catalogue/changes", params={"after": 0})).json()["changes"]
    assert [c["entry_id"] for c in lounge_changes] == [lounge_id]
    # The partner's own list follows on the instance it asks (the change was made on b).

    async def shown() -> bool:
        entries = (await lounges.request("GET", "/v1/catalogue")).json()["lounges"]
        return next(x for x in entries if x["id"] == lounge_id)["valid_until"] == "2026-01-31"
    await eventually(shown, timeout=10, what="the lounge's window on the other instance")


async def test_the_ops_seed_adds_missing_demo_entries_and_keeps_staff_changes(rewards):
    a, b = rewards
    changed = await a.client.patch("/v1/staff/catalogue/lounges/ZUH-T1-01", headers=manager(),
                                   json={"name": "珠海金湾贵宾厅(新)"})
    assert changed.status_code == 200, changed.text
    await a.pool.execute("DELETE FROM lounges WHERE id = 'ZUH-T1-02'")
    seeded = await ops("catalogue", "seed", services={"rewards": a})
    assert seeded.code == 0, seeded.err
    assert "1 catalogue entries written" in seeded.out
    names = dict(await a.pool.fetch("SELECT id, name FROM lounges WHERE city = '珠海'"))
    assert names == {"ZUH-T1-01": "珠海金湾贵宾厅(新)", "ZUH-T1-02": "珠海金湾航站楼贵宾休息室2号"}

    async def back_on_b() -> bool:
        return b.redemptions.catalogue.lounges["ZUH-T1-02"].version > 1
    await eventually(back_on_b, timeout=10, what="the seeded lounge on the other instance")


async def test_a_catalogue_from_before_0007_is_completed_once_at_the_first_start(infra):
    world = uuid.uuid4().hex[:8]
    name = f"rewards_{world}"
    pool = await db.create_pool(infra["DATABASE_URL"], name)
    try:  # the catalogue as the CSV upsert of release 0006 left it, and one since dropped
        files = db.migration_files(rewards_app.PACKAGE_DIR)
        await db.migrate(pool, name, [f for f in files if f.parent.parent.name == "runtime"
                                      or f.name < "0007"])
        await pool.execute(
            "INSERT INTO offers (id, merchant, industry, title, points_price, valid_from,"
            " valid_until, eligible_tiers, limit_per_period, period) VALUES"
            " ('off_coffee_00_0', '星巴克', 'coffee', '旧标题', 700, '2026-01-01', '2027-12-31',"
            "  '{standard}', 2, 'month'),"
            " ('off_gone_00_0', '旧商户', 'retail', '旧商户 券', 100, '2026-01-01', '2027-12-31',"
            "  '{gold}', 1, 'month')")
    finally:
        await pool.close()
    service = build(name, f"test.{world}.")
    try:
        await service.start()
        old = await service.pool.fetchrow(
            "SELECT title, points_price, partner_id, version FROM offers"
            " WHERE id = 'off_coffee_00_0'")
        assert dict(old) == {"title": "星巴克 中杯饮品兑换券", "points_price": 800,
                             "partner_id": "ptn_coffee_00", "version": 1}
        view = service.redemptions.catalogue
        assert view.offer("off_gone_00_0") is not None  # kept, and loaded though at version 0
        assert len(view.lounges) == await service.pool.fetchval("SELECT count(*) FROM lounges")
        # A second start seeds nothing: staff changes since stay.
        await service.pool.execute("UPDATE offers SET title = '改过' WHERE id = 'off_coffee_00_0'")
        await service.stop()
        await service.start()
        assert await service.pool.fetchval(
            "SELECT title FROM offers WHERE id = 'off_coffee_00_0'") == "改过"
    finally:
        await service.stop()
        await _remove(service)
