"""The points-paid saga on the real broker and database: rewards records and emits the
request, the points service's answer settles it (whichever instance consumes it), the HTTP
call answers 201 / the error, or 202 after the bounded wait; cancellation refunds once."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest

from contracts.envelope import encode
from contracts.points.v1 import PointsDebited, PointsDebitRejected, PointsRefunded
from contracts.topics import CARD_TRANSACTIONS_V1, POINTS_V1, REWARDS_V1
from runtime.relay import wait_until_drained
from services.points.app import build as points_build
from services.rewards.app import build as rewards_build
from tests.integration.fresh import customers, fresh_world
from tests.integration.kafka_tools import eventually, produce, read_topic
from tests.integration.points_events import purchase
from tests.integration.test_rewards_api import (
    LOUNGE,
    code_for,
    new_partner,
    started_rewards,
)

pytestmark = pytest.mark.integration
COFFEE = "off_coffee_00_0"  # 800 points, 2 a month, every tier
SOURCE = "urn:test:points"


def ce_type(record) -> str:
    return dict(record.headers)["ce_type"].decode()


async def requested(service, member: str, n: int) -> list[dict]:
    """The first `n` redemption.requested rewards published for `member`."""
    records = await read_topic(
        service.settings.kafka_bootstrap_servers, service.topic(REWARDS_V1),
        keep=lambda r: r.key == member.encode() and ce_type(r) == "redemption.requested",
        until=lambda kept: len(kept) >= n, timeout=20)
    return [json.loads(r.value) for r in records]


async def answer(service, *events) -> None:
    await produce(service.settings.kafka_bootstrap_servers, service.topic(POINTS_V1),
                  [encode(e, source=SOURCE) for e in events])


async def test_the_points_answer_settles_the_waiting_request(infra, monkeypatch):
    now = datetime.now(UTC)
    async with started_rewards(monkeypatch, SAGA_WAIT_SECONDS=8) as rewards:
        partner = await new_partner(rewards)
        debited, rejected, unanswered = customers(3)

        # Debited: the request waits for the answer, then 201.
        call = asyncio.create_task(partner.redeem_offer(await code_for(rewards, debited), COFFEE))
        [req] = await requested(rewards, debited, 1)
        assert (req["points"], req["kind"], req["item_id"]) == (800, "offer", COFFEE)
        await answer(rewards, PointsDebited(member_id=debited, debit_id=req["redemption_id"],
                                            points=800, balance_after=200, debited_at=now))
        response = await call
        assert response.status_code == 201, response.text
        assert response.json() | {"created_at": 0, "settled_at": 0} == {
            "id": req["redemption_id"], "kind": "offer", "item_id": COFFEE,
            "title": "星巴克 中杯饮品兑换券", "persons": 1, "points": 800, "status": "confirmed",
            "reason": None, "valid_on": None, "refund_status": None, "created_at": 0,
            "settled_at": 0, "cancelled_at": None}

        # Rejected: the error with its stable code; the month's use is given back.
        call = asyncio.create_task(partner.redeem_offer(await code_for(rewards, rejected),
                                                        COFFEE))
        [req2] = await requested(rewards, rejected, 1)
        await answer(rewards, PointsDebitRejected(
            member_id=rejected, debit_id=req2["redemption_id"], points_requested=800,
            reason="insufficient_points", available=10, rejected_at=now))
        response = await call
        assert (response.status_code, response.json()["code"]) == (422, "insufficient_points")
        assert response.json()["redemption_id"] == req2["redemption_id"]
        assert await rewards.pool.fetchval(
            "SELECT used FROM usage WHERE member_id = $1", rejected) == 0

        # No answer in time: 202 with a status URL; the answer arrives later.
        rewards.redemptions.saga_wait = 0.5
        late_code = await code_for(rewards, unanswered)
        response = await partner.redeem_offer(late_code, COFFEE, idempotency_key="late-1")
        assert response.status_code == 202, response.text
        late_id = response.json()["id"]
        assert response.headers["Location"] == f"/v1/redemptions/{late_id}"
        assert (await partner.get(late_id)).json()["status"] == "pending"
        await answer(rewards, PointsDebited(member_id=unanswered, debit_id=late_id, points=800,
                                            balance_after=0, debited_at=now))

        async def confirmed() -> bool:
            return (await partner.get(late_id)).json()["status"] == "confirmed"
        await eventually(confirmed, timeout=20, what="late debit applied")
        # The same request again gets the first answer (202), byte for byte.
        replay = await partner.redeem_offer(late_code, COFFEE, idempotency_key="late-1")
        assert (replay.status_code, replay.content) == (202, response.content)

        # Cancel: one redemption.cancelled asking for the 800 points back; refunded noted.
        cancelled = await partner.cancel(req["redemption_id"])
        assert (cancelled.json()["status"], cancelled.json()["refund_status"]) == (
            "cancelled", "requested")
        await answer(rewards, PointsRefunded(member_id=debited, debit_id=req["redemption_id"],
                                             points=800, refunded_at=now))

        async def refunded() -> bool:
            return (await partner.get(req["redemption_id"])).json()["refund_status"] == "refunded"
        await eventually(refunded, timeout=20, what="refund noted")

        # A redelivered answer changes nothing and publishes nothing more.
        await answer(rewards, PointsDebited(member_id=debited, debit_id=req["redemption_id"],
                                            points=800, balance_after=0, debited_at=now))
        await wait_until_drained(rewards.pool)
        members = {m.encode() for m in (debited, rejected, unanswered)}
        records = await read_topic(
            rewards.settings.kafka_bootstrap_servers, rewards.topic(REWARDS_V1),
            keep=lambda r: r.key in members, until=lambda kept: len(kept) >= 7, settle=1.5)
        assert sorted(ce_type(r) for r in records) == sorted([
            "redemption.requested", "redemption.requested", "redemption.requested",
            "redemption.confirmed", "redemption.confirmed", "redemption.rejected",
            "redemption.cancelled"])
        cancel = next(json.loads(r.value) for r in records
                      if ce_type(r) == "redemption.cancelled")
        assert cancel["points_to_refund"] == 800


@asynccontextmanager
async def with_points(bootstrap: str):
    """rewards and points in one world, a partner of rewards, and a Standard member (no free
    lounge visits, 3,000 points a person) who has earned 7,000 points."""
    async with fresh_world({"rewards": rewards_build, "points": points_build}) as world:
        rewards, points = world["rewards"], world["points"]
        rewards.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=rewards.http),
                                           base_url="http://rewards", timeout=30)
        try:
            partner = await new_partner(rewards)
            member = customers(1)[0]
            await produce(bootstrap, points.topic(CARD_TRANSACTIONS_V1),
                          [purchase(member, "7000")])
            await read_topic(
                bootstrap, points.topic(POINTS_V1), timeout=30,
                keep=lambda r: r.key == member.encode() and ce_type(r) == "points.earned",
                until=lambda kept: len(kept) >= 1)
            yield rewards, points, partner, member
        finally:
            await rewards.client.aclose()


async def test_with_the_points_service_balances_hold_and_refunds_happen_once(infra,
                                                                           monkeypatch):
    monkeypatch.setenv("SAGA_WAIT_SECONDS", "10")
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    async with with_points(bootstrap) as (rewards, points, partner, member):
        # Five visits at once, 3,000 points each, on a balance of 7,000: two go through.
        codes = [await code_for(rewards, member) for _ in range(5)]
        responses = await asyncio.gather(*(
            partner.redeem_lounge(c, LOUNGE, allow_points=True) for c in codes))
        outcomes = sorted(r.json().get("code", str(r.status_code)) for r in responses)
        assert outcomes == ["201", "201", "insufficient_points", "insufficient_points",
                            "insufficient_points"], [r.text for r in responses]
        assert await points.pool.fetchval(
            "SELECT points FROM balances WHERE member_id = $1", member) == 1000

        # Cancelling one refunds its 3,000 points once, however often it is asked.
        paid = next(r.json()["id"] for r in responses if r.status_code == 201)
        first = await partner.cancel(paid, idempotency_key="cancel-1")
        again = await partner.cancel(paid, idempotency_key="cancel-1")
        other = await partner.cancel(paid)
        assert first.status_code == again.status_code == 200 and first.content == again.content
        assert (other.status_code, other.json()["code"]) == (409, "not_cancellable")

        async def refunded() -> bool:
            return (await partner.get(paid)).json()["refund_status"] == "refunded"
        await eventually(refunded, timeout=30, what="refund confirmed by points")
        assert await points.pool.fetchval(
            "SELECT points FROM balances WHERE member_id = $1", member) == 4000
        answers = await read_topic(
            bootstrap, points.topic(POINTS_V1), settle=1.0,
            keep=lambda r: r.key == member.encode() and ce_type(r) != "points.earned",
            until=lambda kept: len(kept) >= 6)
        assert sorted(ce_type(r) for r in answers) == [
            "points.debit-rejected", "points.debit-rejected", "points.debit-rejected",
            "points.debited", "points.debited", "points.refunded"]
