"""Campaigns staff add, change and end on a running points service (real broker and
database): each change rates the next purchases without a restart, is audited (who, when,
what), and only staff of the bank's identity provider may make it; the preview shows what
a sample purchase earns under the rules in force."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from services.points.handlers.campaigns import CurrentRules
from services.points.settings import load_rules
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, produce_to
from tests.integration.points_events import SHANGHAI, consumed, points_service, purchase
from tests.tokens import Issuer, member_headers, staff_headers

pytestmark = pytest.mark.integration
STAFF = "loyalty-staff"


@pytest.fixture
async def world(infra, tmp_path):
    idp = Issuer(tmp_path, "staff", algorithm="ES256")
    async for points in points_service(**idp.settings()):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=points.http),
                                     base_url="http://points") as http:
            yield points, http, idp


def bought(member: str, mcc: str = "5411", channel: str | None = None):
    """A purchase of 100.00 CNY posted now, and its transaction id."""
    transaction_id = uuid.uuid4().hex
    return transaction_id, purchase(member, "100.00", mcc, transaction_id,
                                    datetime.now(SHANGHAI), channel)


async def earned(points, sent: list, transaction_id: str) -> tuple[int, list[str]]:
    await eventually(consumed(points, len(sent)), what=f"{len(sent)} purchases applied")
    row = await points.pool.fetchrow(
        "SELECT points, rule_ids FROM earnings WHERE transaction_id = $1", transaction_id)
    return row["points"], list(row["rule_ids"])


async def test_campaigns_change_a_running_service_and_are_audited(world):
    points, http, idp = world
    staff = idp.bearer("rm-0001", roles=[STAFF])
    (member,) = customers(1)
    sent: list = []

    async def buy(**kwargs) -> tuple[int, list[str]]:
        transaction_id, record = bought(member, **kwargs)
        sent.append(record)
        await produce_to(points, [record])
        return await earned(points, sent, transaction_id)

    listed = (await http.get("/staff/campaigns", headers=staff)).json()
    assert [(c["id"], c["status"]) for c in listed["campaigns"]] == [
        ("weekend-double-2026", "off")]  # the programme file's starting set
    assert await buy() == (100, ["base-1-per-cny", "tier-standard-x1.0"])

    # Added: the running service rates the next purchase with it.
    ends = (datetime.now(SHANGHAI) + timedelta(hours=1)).isoformat()
    added = await http.post("/staff/campaigns", headers=staff, json={
        "id": "groceries-x3", "ends_at": ends, "multiplier": "3", "mccs": ["5411"]})
    assert added.status_code == 201, added.text
    assert added.json()["version"] == listed["version"] + 1
    assert added.json()["campaign"]["status"] == "running"
    assert await buy() == (300, ["base-1-per-cny", "tier-standard-x1.0",
                                      "groceries-x3"])
    assert await buy(mcc="5812") == (200, ["base-1-per-cny", "dining-x2",
                                                "tier-standard-x1.0"])
    # Another instance's rules see it too: the version is in the database, not in memory.
    async with points.pool.acquire() as conn:
        elsewhere = await CurrentRules(load_rules()).load(conn)
    assert "groceries-x3" in [c.id for c in elsewhere.campaigns]

    # Started: only its end may move, not into the past; then ended now.
    refused = await http.patch("/staff/campaigns/groceries-x3", headers=staff,
                               json={"multiplier": "5"})
    assert (refused.status_code, refused.json()["code"]) == (409, "campaign_started")
    later = (datetime.now(SHANGHAI) + timedelta(hours=2)).isoformat()
    moved = await http.patch("/staff/campaigns/groceries-x3", headers=staff,
                             json={"ends_at": later})
    assert moved.status_code == 200, moved.text
    ender = idp.bearer("rm-0002", roles=[STAFF])
    ended = await http.post("/staff/campaigns/groceries-x3/end", headers=ender)
    assert (ended.status_code, ended.json()["campaign"]["status"]) == (200, "ended")
    assert await buy() == (100, ["base-1-per-cny", "tier-standard-x1.0"])
    # Paid through a third-party payment institution: the channel rule, half.
    assert await buy(channel="alipay") == (
        50, ["base-1-per-cny", "tier-standard-x1.0", "third-party-payment-x0.5"])
    assert await points.pool.fetchval(
        "SELECT count(*) FROM ratings WHERE member_id = $1 AND channel = 'alipay'", member) == 1

    # The audit: who, when, what, newest first.
    audit = (await http.get("/staff/campaigns/changes", headers=staff,
                            params={"campaign_id": "groceries-x3"})).json()["changes"]
    assert [(c["action"], c["staff_id"]) for c in audit] == [
        ("ended", "rm-0002"), ("changed", "rm-0001"), ("added", "rm-0001")]
    assert audit[1]["before"]["ends_at"] != audit[1]["after"]["ends_at"]
    assert audit[2]["before"] is None and audit[2]["after"]["multiplier"] == "3"
    assert all(datetime.fromisoformat(c["changed_at"]) <= datetime.now(SHANGHAI)
               for c in audit)
    seeded = (await http.get("/staff/campaigns/changes", headers=staff,
                             params={"campaign_id": "weekend-double-2026"})).json()
    assert [(c["action"], c["staff_id"]) for c in seeded["changes"]] == [
        ("seeded", "programme.toml")]


async def test_what_staff_may_not_change(world):
    points, http, idp = world
    staff = idp.bearer("rm-0001", roles=[STAFF])
    now = datetime.now(SHANGHAI)
    soon, later = (now + timedelta(days=1)).isoformat(), (now + timedelta(days=2)).isoformat()
    scheduled = await http.post("/staff/campaigns", headers=staff, json={
        "id": "double-11", "starts_at": soon, "ends_at": later, "multiplier": "2",
        "channels": ["card"]})
    assert scheduled.json()["campaign"]["status"] == "scheduled"
    # Before it starts anything may change; ending it switches it off.
    changed = await http.patch("/staff/campaigns/double-11", headers=staff,
                               json={"multiplier": "1.5", "weekdays": [6, 7]})
    assert changed.json()["campaign"]["multiplier"] == "1.5"
    off = await http.post("/staff/campaigns/double-11/end", headers=staff)
    assert off.json()["campaign"]["status"] == "off"

    for method, url, body, status, code in [
        ("post", "/staff/campaigns", {"id": "double-11", "ends_at": later, "multiplier": "2"},
         409, "campaign_exists"),
        ("post", "/staff/campaigns", {"id": "backdated", "multiplier": "2", "ends_at": later,
                                      "starts_at": (now - timedelta(hours=1)).isoformat()},
         422, "invalid_campaign"),
        ("post", "/staff/campaigns", {"id": "too-fine", "ends_at": later,
                                      "multiplier": "1.23456"}, 422, "invalid_campaign"),
        ("post", "/staff/campaigns", {"id": "Bad Id", "ends_at": later, "multiplier": "2"},
         422, "invalid_campaign"),
        ("post", "/staff/campaigns", {"id": "x", "ends_at": later, "multiplier": "2",
                                      "colour": "red"}, 422, "invalid_request"),
        ("patch", "/staff/campaigns/nope", {"multiplier": "2"}, 404, "unknown_campaign"),
        ("post", "/staff/campaigns/double-11/end", None, 409, "campaign_over"),
    ]:
        answer = await http.request(method, url, headers=staff, json=body)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (url, body)

    # Who: only this identity provider's staff, with the staff role.
    (member,) = customers(1)
    body = {"id": "sneaky", "ends_at": later, "multiplier": "9"}
    for headers in ({}, member_headers(member), staff_headers("rm-0001", STAFF),
                    idp.bearer("rm-0001", roles=[STAFF], iss="https://other/"),
                    {"Authorization": "Bearer x"}):
        for method, url in (("post", "/staff/campaigns"), ("get", "/staff/campaigns"),
                            ("post", "/staff/earning/preview")):
            answer = await http.request(method, url, headers=headers, json=body)
            assert answer.status_code == 401, (url, answer.text)
    for roles in ([], ["loyalty-approver"], ["admin"]):
        answer = await http.post("/staff/campaigns", json=body,
                                 headers=idp.bearer("rm-0001", roles=roles))
        assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")
    listed = (await http.get("/staff/campaigns", headers=staff)).json()["campaigns"]
    assert "sneaky" not in [c["id"] for c in listed]


async def test_preview_shows_what_a_sample_purchase_earns_now(world):
    points, http, idp = world
    staff = idp.bearer("rm-0001", roles=[STAFF])
    now = datetime.now(SHANGHAI)
    await http.post("/staff/campaigns", headers=staff, json={
        "id": "dining-weekend", "starts_at": (now + timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=30)).isoformat(), "multiplier": "1.5",
        "mccs": ["5812"]})

    async def preview(**sample) -> dict:
        answer = await http.post("/staff/earning/preview", headers=staff, json=sample)
        assert answer.status_code == 200, answer.text
        return answer.json()

    dinner = {"tier": "private_banking", "mcc": "5812", "amount_cny": "1000.00"}
    today = await preview(**dinner)
    assert (today["points"], today["base_points"], today["bonus_points"]) == (4000, 2000, 2000)
    assert today["rule_ids"] == ["base-1-per-cny", "dining-x2", "tier-private-x2.0"]
    in_campaign = await preview(**dinner, at=(now + timedelta(days=2)).isoformat())
    assert (in_campaign["points"], Decimal(in_campaign["multiplier"])) == (6000, 6)
    assert in_campaign["rule_ids"][-1] == "dining-weekend"
    wechat = await preview(**dinner, channel="wechat_pay", bonus_used_this_month=20000)
    assert (wechat["points"], wechat["caps_applied"]) == (1000, ["monthly-bonus-20000"])
    assert wechat["rule_ids"][-1] == "third-party-payment-x0.5"
    school = await preview(**{**dinner, "mcc": "8220"})
    assert (school["points"], school["rule_ids"]) == (0, ["excluded-schools"])
    assert today["campaigns_version"] >= 2
