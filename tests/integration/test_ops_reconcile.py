"""`loyalty-ops reconcile` on the real broker and database: rewards and points agree after
points-paid redemptions and a cancellation (exit 0); a confirmed redemption without its
debit, or one pending past its bound, makes it exit 1 and name the check."""

from __future__ import annotations

import pytest

from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually
from tests.integration.ops_cli import ops
from tests.integration.ops_world import (
    member_with_points,
    redeem_offer,
    rewards_world,
    start_points,
    world,
)

pytestmark = pytest.mark.integration
_COPY = """
INSERT INTO redemptions (id, partner_id, member_id, kind, item_id, title, persons, points,
                         usage_item, usage_period, usage_taken, status, valid_on, created_at,
                         settled_at)
SELECT $2, partner_id, member_id, kind, item_id, title, persons, points, usage_item,
       usage_period, 0, $3, valid_on, created_at, CASE WHEN $3 = 'pending' THEN NULL
       ELSE settled_at END
  FROM redemptions WHERE id = $1
"""


async def test_reconcile_passes_when_rewards_and_points_agree_and_fails_when_not(infra):
    async with rewards_world() as rewards:
        points = await start_points(rewards)
        member = customers(1)[0]
        await member_with_points(rewards, points, member)
        ids = []
        for _ in range(2):
            answer = await redeem_offer(rewards, member)
            assert answer.status_code in (201, 202), answer.text
            ids.append(answer.json()["id"])

        async def status(redemption: str, wanted: str, column: str = "status"):
            async def check() -> bool:
                return await rewards.pool.fetchval(
                    f"SELECT {column} FROM redemptions WHERE id = $1", redemption) == wanted
            await eventually(check, what=f"{redemption} {wanted}")
        for redemption in ids:
            await status(redemption, "confirmed")
        cancelled = await rewards.partner.cancel(ids[1])
        assert cancelled.status_code == 200, cancelled.text
        await status(ids[1], "refunded", "refund_status")

        sound = await ops("reconcile", services=world(rewards, points))
        assert sound.code == 0, sound.out + sound.err
        assert "13 of 13 checks hold" in sound.out

        await rewards.pool.execute(_COPY, ids[0], "rdm_without_debit", "confirmed")
        await rewards.pool.execute(_COPY, ids[0], "rdm_stuck", "pending")
        off = await ops("reconcile", "--pending-bound", "0", services=world(rewards, points))
        assert off.code == 1, off.out + off.err
        assert "11 of 13 checks hold" in off.out
        assert ("OFF: every confirmed points-paid redemption has exactly one debit of its"
                " points") in off.err and "rdm_without_debit" in off.err
        assert "OFF: nothing is pending past its bound" in off.err and "rdm_stuck" in off.err
        assert (await ops("reconcile", services=world(rewards, points))).code == 1
