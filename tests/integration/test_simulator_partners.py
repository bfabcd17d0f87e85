"""The simulator's partners on the real broker and database: with a key made by
`loyalty-ops partners create` (as scripts/run makes it), members' app tokens and codes, it
redeems lounge visits and offers (points-paid ones through points), is refused now and then
(a code shown twice, a lounge outside its own, a wrong signature) and cancels some; rewards
and points reconcile afterwards."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from runtime.auth import dev_token
from simulator.partners import PARTNER_LOUNGES, PartnerTraffic, load_key
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually
from tests.integration.ops_cli import ops
from tests.integration.ops_world import member_with_points, rewards_world, start_points, world

pytestmark = pytest.mark.integration


async def test_the_simulated_partners_redeem_get_refused_and_cancel(infra, tmp_path):
    async with rewards_world() as rewards:
        points = await start_points(rewards)
        members = customers(6)
        for member in members:
            await member_with_points(rewards, points, member, spend="20000.00")
        for member, tier in zip(members, ["private_banking", "private_banking", "gold", "gold"],
                                strict=False):
            await rewards.pool.execute("UPDATE members SET tier = $2 WHERE member_id = $1",
                                       member, tier)
        created = await ops("partners", "create", "--id", "ptn_simulator", "--name", "模拟伙伴",
                            "--scopes", "lounge,offers", "--lounges", PARTNER_LOUNGES,
                            "--offers", "*", "--rate", "1000", "--json",
                            services=world(rewards))
        assert created.code == 0, created.err
        key_file = tmp_path / "partner.json"
        key_file.write_text(created.out)

        traffic = PartnerTraffic(rewards.client, *load_key(key_file), lambda: members,
                                 lambda member: dev_token("app", member), random.Random(7))
        outcomes = await traffic.run(rate=30, duration=6)

        by_kind = Counter()
        for outcome, n in outcomes.items():
            by_kind[outcome.rsplit(" ", 1)[0]] += n
        assert sum(by_kind.values()) > 100, outcomes
        assert not [o for o in outcomes if "error" in o or o.endswith(" 500")], outcomes
        assert outcomes["lounge 201"] and outcomes["offer 201"], outcomes
        assert outcomes["bad_signature 401"] and outcomes["foreign_lounge 403"], outcomes
        assert outcomes["code_twice 422"] and outcomes["cancel 200"], outcomes

        async def settled() -> bool:
            return not await rewards.pool.fetchval(
                "SELECT count(*) FROM redemptions WHERE status = 'pending'")
        await eventually(settled, what="every saga settled")
        statuses = dict(await rewards.pool.fetch(
            "SELECT status, count(*) FROM redemptions GROUP BY status"))
        assert statuses.get("confirmed") and statuses.get("cancelled"), statuses
        assert await rewards.pool.fetchval(
            "SELECT count(*) FROM redemptions WHERE points > 0 AND status = 'confirmed'")
        assert await points.pool.fetchval("SELECT count(*) FROM transfers WHERE kind = 'debit'")

        async def reconciled() -> bool:
            return (await ops("reconcile", "--in-flight", "0",
                              services=world(rewards, points))).code == 0
        await eventually(reconciled, timeout=60, what="rewards and points agree")
