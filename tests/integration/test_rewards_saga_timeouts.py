"""Sagas that do not settle, on the real broker and database: a points-paid redemption still
pending after SAGA_TIMEOUT_SECONDS is rejected `timed_out` by the job (the stored answer
replaced, the usage given back, `redemption.rejected` emitted); a debit landing after that is
refunded exactly once; a partner cancels a pending one; a settled one is refused clearly;
retries with the same Idempotency-Key answer the same."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from contracts.points.v1 import PointsDebited, PointsDebitRejected, PointsRefunded
from contracts.topics import POINTS_V1, REWARDS_V1
from runtime.relay import wait_until_drained
from services.points.app import build as points_build
from services.rewards.sql import idempotency
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, read_topic
from tests.integration.test_rewards_api import LOUNGE, code_for, new_partner, started_rewards
from tests.integration.test_rewards_saga import COFFEE, answer, ce_type, with_points

pytestmark = pytest.mark.integration
FAST = {"SAGA_WAIT_SECONDS": 0.3, "SAGA_TIMEOUT_SECONDS": 1.5}


async def rewards_events(service, members: list[str], n: int, settle: float = 1.5) -> list:
    keys = {m.encode() for m in members}
    await wait_until_drained(service.pool)
    return await read_topic(service.settings.kafka_bootstrap_servers, service.topic(REWARDS_V1),
                            keep=lambda r: r.key in keys, until=lambda kept: len(kept) >= n,
                            settle=settle)


async def status_of(partner, redemption_id: str) -> dict:
    response = await partner.get(redemption_id)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_pending_redemption_times_out_and_a_late_debit_is_refunded_once(
        infra, monkeypatch):
    now = datetime.now(UTC)
    async with started_rewards(monkeypatch, **FAST) as rewards:
        partner = await new_partner(rewards)
        [member] = customers(1)
        code = await code_for(rewards, member)
        waiting = await partner.redeem_offer(code, COFFEE, idempotency_key="slow-1")
        assert waiting.status_code == 202, waiting.text
        redemption_id = waiting.json()["id"]

        # Nobody answers for points: the job (every few tenths of a second here) times it out.
        async def timed_out() -> bool:
            return (await status_of(partner, redemption_id))["status"] == "rejected"
        await eventually(timed_out, timeout=20, what="time-out")
        seen = await status_of(partner, redemption_id)
        assert (seen["reason"], seen["refund_status"]) == ("timed_out", None)
        assert seen["settled_at"] is not None
        assert await rewards.pool.fetchval(
            "SELECT used FROM usage WHERE member_id = $1", member) == 0  # the month's use back

        # The stored answer is the time-out now: a retry of the same request hears it.
        retry = await partner.redeem_offer(code, COFFEE, idempotency_key="slow-1")
        assert (retry.status_code, retry.json()["code"]) == (422, "timed_out")
        assert retry.json()["redemption_id"] == redemption_id
        again = await partner.redeem_offer(code, COFFEE, idempotency_key="slow-1")
        assert (again.status_code, again.content) == (422, retry.content)

        # Running the job again times out nothing more.
        assert await rewards.timeouts() == 0

        # The debit lands late, and is delivered twice: one refund is asked for, once.
        debit = PointsDebited(member_id=member, debit_id=redemption_id, points=800,
                              balance_after=200, debited_at=now)
        await answer(rewards, debit)
        await answer(rewards, debit)

        async def refund_asked() -> bool:
            return (await status_of(partner, redemption_id))["refund_status"] == "requested"
        await eventually(refund_asked, timeout=20, what="refund of the late debit")
        await answer(rewards, PointsRefunded(member_id=member, debit_id=redemption_id,
                                             points=800, refunded_at=now))

        async def refunded() -> bool:
            return (await status_of(partner, redemption_id))["refund_status"] == "refunded"
        await eventually(refunded, timeout=20, what="refund noted")
        seen = await status_of(partner, redemption_id)
        assert (seen["status"], seen["reason"]) == ("rejected", "timed_out")

        # Its story: requested, rejected (timed out); then the late debit asked back, by a
        # refund request and not a cancellation (issue 13: it published a cancellation of a
        # redemption that had been rejected).
        records = await rewards_events(rewards, [member], 3)
        assert sorted(ce_type(r) for r in records) == [
            "redemption.refund-requested", "redemption.rejected", "redemption.requested"]
        by_type = {ce_type(r): json.loads(r.value) for r in records}
        assert by_type["redemption.rejected"]["reason"] == "timed_out"
        assert by_type["redemption.refund-requested"]["points"] == 800
        assert by_type["redemption.refund-requested"]["reason"] == "timed_out"
        assert by_type["redemption.refund-requested"]["redemption_id"] == redemption_id

        # A timed-out redemption cannot be cancelled: refused with the reason.
        cancel = await partner.cancel(redemption_id)
        assert (cancel.status_code, cancel.json()["code"]) == (409, "not_cancellable")
        assert "rejected (timed_out)" in cancel.json()["message"]


async def test_a_partner_cancels_a_pending_redemption_and_a_late_debit_is_refunded(
        infra, monkeypatch):
    now = datetime.now(UTC)
    async with started_rewards(monkeypatch, SAGA_WAIT_SECONDS=0.3,
                               SAGA_TIMEOUT_SECONDS=600) as rewards:
        partner = await new_partner(rewards)
        pending, rejected_later, settled = customers(3)
        cancel_route = rewards.http.openapi()["paths"]["/v1/redemptions/{redemption_id}/cancel"]
        described = " ".join(cancel_route["post"]["description"].split())
        assert "a points-paid one still pending" in described
        assert "not_cancellable" in described and "409" in cancel_route["post"]["responses"]
        waiting = await partner.redeem_offer(await code_for(rewards, pending), COFFEE)
        assert waiting.status_code == 202, waiting.text
        redemption_id = waiting.json()["id"]

        # Cancelled while it waits: nothing debited yet, nothing to refund yet.
        first = await partner.cancel(redemption_id, idempotency_key="cancel-pending")
        assert first.status_code == 200, first.text
        assert (first.json()["status"], first.json()["refund_status"]) == ("cancelled", None)
        assert await rewards.pool.fetchval(
            "SELECT used FROM usage WHERE member_id = $1", pending) == 0
        # Retried with the same key: the same answer; with another key: refused clearly.
        again = await partner.cancel(redemption_id, idempotency_key="cancel-pending")
        assert (again.status_code, again.content) == (200, first.content)
        other = await partner.cancel(redemption_id)
        assert (other.status_code, other.json()["code"]) == (409, "not_cancellable")
        assert "cancelled" in other.json()["message"]

        # The points service debited it meanwhile: the debit is refunded, once.
        debit = PointsDebited(member_id=pending, debit_id=redemption_id, points=800,
                              balance_after=0, debited_at=now)
        await answer(rewards, debit, debit)

        async def refund_asked() -> bool:
            return (await status_of(partner, redemption_id))["refund_status"] == "requested"
        await eventually(refund_asked, timeout=20, what="refund of the late debit")
        assert (await status_of(partner, redemption_id))["status"] == "cancelled"

        # A rejection that lands after a cancellation changes nothing.
        waiting2 = await partner.redeem_offer(await code_for(rewards, rejected_later), COFFEE)
        second = waiting2.json()["id"]
        assert (await partner.cancel(second)).status_code == 200
        await answer(rewards, PointsDebitRejected(
            member_id=rejected_later, debit_id=second, points_requested=800,
            reason="insufficient_points", available=0, rejected_at=now))

        # A settled one that was rejected is refused, with its reason.
        waiting3 = await partner.redeem_offer(await code_for(rewards, settled), COFFEE)
        third = waiting3.json()["id"]
        await answer(rewards, PointsDebitRejected(
            member_id=settled, debit_id=third, points_requested=800,
            reason="insufficient_points", available=0, rejected_at=now))

        async def rejected() -> bool:
            return (await status_of(partner, third))["status"] == "rejected"
        await eventually(rejected, timeout=20, what="rejection")
        refused = await partner.cancel(third)
        assert (refused.status_code, refused.json()["code"]) == (409, "not_cancellable")
        assert "rejected (insufficient_points)" in refused.json()["message"]

        # One cancellation per redemption (issue 13: the late debit's refund was a second
        # `redemption.cancelled`); the late debit is asked back by a refund request.
        records = await rewards_events(rewards, [pending, rejected_later, settled], 7)
        cancels = sorted((json.loads(r.value)["redemption_id"],
                          json.loads(r.value)["points_to_refund"])
                         for r in records if ce_type(r) == "redemption.cancelled")
        assert cancels == sorted([(redemption_id, 0), (second, 0)])
        refunds = [(json.loads(r.value)["redemption_id"], json.loads(r.value)["points"],
                    json.loads(r.value)["reason"])
                   for r in records if ce_type(r) == "redemption.refund-requested"]
        assert refunds == [(redemption_id, 800, "cancelled")]
        assert sorted(ce_type(r) for r in records) == sorted([
            "redemption.requested", "redemption.requested", "redemption.requested",
            "redemption.cancelled", "redemption.cancelled", "redemption.refund-requested",
            "redemption.rejected"])
        second_now = await status_of(partner, second)
        assert (second_now["status"], second_now["refund_status"]) == ("cancelled", None)


async def test_with_the_points_service_a_debit_after_the_timeout_comes_back(infra,
                                                                            monkeypatch):
    """The points service is down while the redemption waits; it debits once back, after
    the time-out: rewards asks for the points back and points refunds them, once."""
    for name, value in FAST.items():
        monkeypatch.setenv(name, str(value))
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    async with with_points(bootstrap) as (rewards, points, partner, member):
        before = await points_balance(points, member)

        await points.stop()  # down: the debit is asked for, nobody answers
        restarted = None
        try:
            waiting = await partner.redeem_lounge(await code_for(rewards, member), LOUNGE,
                                                  allow_points=True)
            assert waiting.status_code == 202, waiting.text
            redemption_id = waiting.json()["id"]

            async def timed_out() -> bool:
                return (await status_of(partner, redemption_id))["reason"] == "timed_out"
            await eventually(timed_out, timeout=20, what="time-out")

            # Back (the same consumer group): it debits, then refunds at rewards' request.
            restarted = points_build(points.name, points.topic_prefix)
            await restarted.start()

            async def refunded() -> bool:
                return (await status_of(partner, redemption_id))["refund_status"] == "refunded"
            await eventually(refunded, timeout=40, what="late debit refunded")
            assert await points_balance(restarted, member) == before
            answers = await read_topic(
                bootstrap, points.topic(POINTS_V1), settle=1.5,
                keep=lambda r: r.key == member.encode() and ce_type(r) != "points.earned",
                until=lambda kept: len(kept) >= 2)
            assert sorted(ce_type(r) for r in answers) == ["points.debited", "points.refunded"]
        finally:
            if restarted is not None:
                await restarted.stop()


async def points_balance(points, member: str) -> int:
    return await points.pool.fetchval("SELECT points FROM balances WHERE member_id = $1",
                                      member)


async def test_an_answer_stored_meanwhile_is_the_one_returned(infra, monkeypatch):
    """The request that gave up waiting stores its 202 while the settling consumer stores
    the settlement's answer: whoever commits first wins, and the other returns that one."""
    async with started_rewards(monkeypatch) as rewards:
        await rewards.pool.execute("INSERT INTO idempotency (partner_id, key, request_hash)"
                                   " VALUES ('ptn_x', 'key-1', '\\x00')")
        async with rewards.pool.acquire() as settling:
            async with settling.transaction():
                await settling.execute(
                    "UPDATE idempotency SET status_code = 201, body = 'settled'"
                    " WHERE partner_id = 'ptn_x' AND key = 'key-1'")
                giving_up = asyncio.create_task(idempotency.store_answer(
                    rewards.pool, "ptn_x", "key-1", 202, b"pending", "/v1/redemptions/r"))
                await asyncio.sleep(0.5)  # its UPDATE waits for the settling one's row lock
                assert not giving_up.done()
        assert await giving_up == (201, b"settled", None)
