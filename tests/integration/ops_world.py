"""A private world of rewards and points for the ops command tests: a partner, members with
points, codes, and points-paid offers redeemed through the signed API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from contracts.topics import CARD_TRANSACTIONS_V1
from services.points.app import build as build_points
from services.rewards.app import build as build_rewards
from services.rewards.partners import create_partner
from tests.integration.fresh import _remove, fresh_service
from tests.integration.kafka_tools import eventually, produce
from tests.integration.points_events import purchase
from tools.partner_client import PartnerClient

#: 800 points, every tier, two a month.
POINTS_OFFER = "off_coffee_00_0"


@asynccontextmanager
async def rewards_world() -> AsyncIterator:
    """A started rewards service with `client` (its HTTP app) and `partner` (a signed client
    of a partner with every scope); points is started by `start_points`."""
    async with fresh_service(build_rewards, "rewards") as rewards:
        rewards.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=rewards.http),
                                           base_url="http://rewards", timeout=30)
        async with rewards.pool.acquire() as conn:
            _, key_id, secret = await create_partner(
                conn, rewards.settings.sealer(), name="测试伙伴", scopes=["lounge", "offers"],
                lounges=["*"], offers=["*"], rate=1000)
        rewards.partner = PartnerClient(rewards.client, key_id, secret)
        async with contextlib.AsyncExitStack() as stack:
            rewards.stack = stack
            try:
                yield rewards
            finally:
                await rewards.client.aclose()


async def start_points(rewards):
    """The points service of the rewards service's world (same topic prefix); started
    again, it goes on from its committed offsets."""
    points = build_points(rewards.name.replace("rewards", "points", 1), rewards.topic_prefix)
    if not getattr(rewards, "points_started", False):
        rewards.stack.push_async_callback(_remove, points)
        rewards.points_started = True
    await points.start()
    rewards.stack.push_async_callback(points.stop)
    return points


async def member_with_points(rewards, points, member: str, spend: str = "10000.00") -> None:
    """Known to rewards (standard tier), and with `spend` points earned at points."""
    await rewards.pool.execute("INSERT INTO members (member_id, tier, changed_at)"
                               " VALUES ($1, 'standard', now())", member)
    await produce(rewards.settings.kafka_bootstrap_servers,
                  rewards.topic(CARD_TRANSACTIONS_V1), [purchase(member, spend)])

    async def earned() -> bool:
        return bool(await points.pool.fetchval(
            "SELECT points FROM balances WHERE member_id = $1", member))
    await eventually(earned, what="points earned")


async def redeem_offer(rewards, member: str) -> httpx.Response:
    code, _ = await rewards.redemptions.issue_code(member)
    return await rewards.partner.redeem_offer(code, POINTS_OFFER)


def world(rewards, points=None) -> dict:
    return {"rewards": rewards, **({"points": points} if points else {})}
