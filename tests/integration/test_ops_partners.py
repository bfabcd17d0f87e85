"""`loyalty-ops partners` on the real broker and database: the README's example makes a
partner that redeems; keys rotate (two live, the oldest revoked beyond) and are revoked;
scopes, lounges and offers are set."""

from __future__ import annotations

import json

import pytest

from tests.integration.fresh import customers
from tests.integration.ops_cli import ops
from tests.integration.ops_world import rewards_world, world
from tools.partner_client import PartnerClient

pytestmark = pytest.mark.integration
FREE_OFFER = "off_coffee_02_2"   # a discount: no points


async def test_partners_created_as_the_readme_says_redeem_and_their_keys_rotate(infra):
    async with rewards_world() as rewards:
        here = world(rewards)
        member = customers(1)[0]
        await rewards.pool.execute("INSERT INTO members (member_id, tier, changed_at)"
                                   " VALUES ($1, 'private_banking', now())", member)

        async def client(result) -> PartnerClient:
            assert result.code == 0, result.err
            key = json.loads(result.out)
            return PartnerClient(rewards.client, key["key_id"], key["secret"])

        async def lounge(partner: PartnerClient) -> int:
            code, _ = await rewards.redemptions.issue_code(member)
            return (await partner.redeem_lounge(code, "PEK-T3-01")).status_code

        # The README's example, plus --json for the key.
        created = await ops("partners", "create", "--name", "龙腾出行", "--scopes", "lounge",
                            "--lounges", "PEK-*,PVG-*", "--rate", "50", "--id",
                            "ptn_dragonpass", "--json", services=here)
        first = await client(created)
        assert await lounge(first) == 201
        listed = await ops("partners", "list", services=here)
        assert "ptn_dragonpass" in listed.out and first.key_id in listed.out

        second = await client(await ops("partners", "rotate", "--partner", "ptn_dragonpass",
                                        "--json", services=here))
        assert (await lounge(first), await lounge(second)) == (201, 201)  # both live
        third = await client(await ops("partners", "rotate", "--partner", "ptn_dragonpass",
                                       "--json", services=here))
        assert (await lounge(first), await lounge(third)) == (401, 201)  # the oldest went

        revoked = await ops("partners", "revoke", "--key", second.key_id, services=here)
        assert revoked.code == 0, revoked.err
        assert await lounge(second) == 401
        assert (await ops("partners", "revoke", "--key", second.key_id,
                          services=here)).code == 1

        changed = await ops("partners", "set", "--partner", "ptn_dragonpass", "--scopes",
                            "lounge,offers", "--offers", "off_coffee_*", "--lounges", "PVG-*",
                            services=here)
        assert changed.code == 0, changed.err
        assert "scopes lounge,offers" in changed.out
        assert (await ops("partners", "set", "--partner", "ptn_nobody", "--rate", "5",
                          services=here)).code == 1
        assert (await ops("partners", "set", "--partner", "ptn_dragonpass", "--scopes",
                          "everything", services=here)).code == 2
        # A new key sees the new terms at once (a cached one within the cache's seconds).
        fourth = await client(await ops("partners", "rotate", "--partner", "ptn_dragonpass",
                                        "--json", services=here))
        code, _ = await rewards.redemptions.issue_code(member)
        assert (await fourth.redeem_offer(code, FREE_OFFER)).status_code == 201
        assert await lounge(fourth) == 403  # PEK is no longer among its lounges
