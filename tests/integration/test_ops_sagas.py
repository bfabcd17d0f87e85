"""`loyalty-ops sagas` on the real broker and database: points-paid redemptions left
pending (points was stopped) are listed; one asked again under its first event id settles
once when points is back (one debit, whatever the number of asks), one expired is rejected
`timed_out` and its debit, landing late, refunded: rewards and points reconcile."""

from __future__ import annotations

import json

import pytest

from contracts.topics import REWARDS_V1
from runtime.relay import wait_until_drained
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, read_topic
from tests.integration.ops_cli import ops
from tests.integration.ops_world import (
    member_with_points,
    redeem_offer,
    rewards_world,
    start_points,
    world,
)

pytestmark = pytest.mark.integration


async def test_a_pending_saga_is_listed_retried_and_settles_once(infra):
    async with rewards_world() as rewards:
        member = customers(1)[0]
        points = await start_points(rewards)
        await member_with_points(rewards, points, member)
        await points.stop()
        answer, other = await redeem_offer(rewards, member), await redeem_offer(rewards, member)
        assert answer.status_code == other.status_code == 202, answer.text  # no points: waits
        redemption, expiring = answer.json()["id"], other.json()["id"]

        listed = await ops("sagas", "list", services=world(rewards))
        assert listed.code == 0, listed.err
        assert redemption in listed.out and "2 pending redemptions" in listed.out
        assert "0 pending" in (await ops("sagas", "list", "--older", "3600",
                                         services=world(rewards))).out

        retried = await ops("sagas", "retry", "--ids", redemption, services=world(rewards))
        assert retried.code == 0, retried.err
        assert "1 pending redemptions asked again" in retried.out
        await wait_until_drained(rewards.pool)
        asks = await read_topic(
            rewards.settings.kafka_bootstrap_servers, rewards.topic(REWARDS_V1),
            keep=lambda r: dict(r.headers)["ce_type"] == b"redemption.requested"
            and json.loads(r.value)["redemption_id"] == redemption,
            until=lambda kept: len(kept) >= 2, settle=1.0)
        assert len({dict(r.headers)["ce_id"] for r in asks}) == 1  # the same event twice

        expired = await ops("sagas", "expire", "--ids", expiring, services=world(rewards))
        assert expired.code == 0, expired.err
        assert "1 pending redemptions expired" in expired.out
        assert tuple(await rewards.pool.fetchrow(
            "SELECT status, reason FROM redemptions WHERE id = $1", expiring)) == (
            "rejected", "timed_out")
        assert "1 pending redemptions" in (await ops("sagas", "list",
                                                     services=world(rewards))).out

        points = await start_points(rewards)  # again

        async def settled() -> bool:
            return await rewards.pool.fetchval(
                "SELECT status FROM redemptions WHERE id = $1", redemption) == "confirmed"
        await eventually(settled, what="the saga settled")
        assert await points.pool.fetchval(
            "SELECT count(*) FROM transfers WHERE kind = 'debit' AND reference = $1",
            redemption) == 1
        assert "0 pending redemptions" in (await ops("sagas", "list",
                                                     services=world(rewards))).out

        async def reconciled() -> bool:  # the expired one's debit came, and went back
            return (await ops("reconcile", "--in-flight", "0",
                              services=world(rewards, points))).code == 0
        await eventually(reconciled, what="rewards and points agree")
        assert await points.pool.fetchval(
            "SELECT count(*) FROM transfers WHERE kind = 'refund' AND reference = $1",
            expiring) == 1
