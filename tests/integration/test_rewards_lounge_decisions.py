"""The lounge allowance rule exists once (domain/benefits.py): every tier, used count and
guest count, with and without the member's consent to pay, decides the same through the
partner API as through the domain function (confirmed, pays points, refused), and the app's
entitlements show what is left by the same rule."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

import pytest

from contracts.tiers import TIERS
from services.rewards.domain.benefits import lounge_period, lounge_visit, remaining_visits
from services.rewards.domain.errors import Refused
from tests.integration.fresh import customers
from tests.integration.test_rewards_api import (
    LOUNGE,
    code_for,
    new_partner,
    set_tier,
    started_rewards,
)
from tests.tokens import member_headers

pytestmark = pytest.mark.integration
#: (tier, visits used this year, guests, allow_points): every tier around its allowance
#: (0, 2, 6 or unlimited) with parties of one, two and four.
TABLE = list(itertools.product(TIERS, (0, 1, 2, 5, 6, 7), (0, 1, 3), (False, True)))


def domain_decision(benefits, tier: str, used: int, guests: int, allow_points: bool) -> tuple:
    try:
        d = lounge_visit(benefits, tier, used, 1 + guests, allow_points)
    except Refused as exc:
        return "refused", exc.code, used
    return ("pays points" if d.points else "confirmed"), d.points, used + d.taken


async def test_the_api_decides_every_tier_and_party_as_the_domain_does(infra, monkeypatch):
    async with started_rewards(monkeypatch, SAGA_WAIT_SECONDS=0.2) as rewards:
        benefits = rewards.redemptions.benefits
        period = lounge_period(benefits.today(datetime.now(UTC)))
        partner = await new_partner(rewards)
        members = customers(len(TABLE))

        async def through_the_api(member: str, tier: str, used: int, guests: int,
                                  allow_points: bool) -> tuple:
            await set_tier(rewards, member, tier)
            await rewards.pool.execute(
                "INSERT INTO usage (member_id, item, period, used) VALUES ($1, 'lounge', $2, $3)",
                member, period, used)
            seen = await rewards.client.get(f"/v1/app/members/{member}/entitlements",
                                            headers=member_headers(member))
            assert seen.json()["lounge"]["remaining"] == remaining_visits(benefits, tier, used)
            response = await partner.redeem_lounge(await code_for(rewards, member), LOUNGE,
                                                   guests=guests, allow_points=allow_points)
            body = response.json()
            now_used = await rewards.pool.fetchval(
                "SELECT used FROM usage WHERE member_id = $1", member)
            if response.status_code == 201:
                assert body["status"] == "confirmed", body
                return "confirmed", body["points"], now_used
            if response.status_code == 202:  # nobody answers for the points service here
                assert body["status"] == "pending", body
                return "pays points", body["points"], now_used
            assert response.status_code == 422, response.text
            return "refused", body["code"], now_used

        decided = await asyncio.gather(*(
            through_the_api(member, *case) for member, case in zip(members, TABLE, strict=True)))
        api = dict(zip(TABLE, decided, strict=True))
        expected = {case: domain_decision(benefits, *case) for case in TABLE}
        assert api == expected
        # The table covers every kind of decision, for every tier that has an allowance.
        assert {d[0] for d in expected.values()} == {"confirmed", "pays points", "refused"}
