"""Partner redemptions and lounge visits, the same in both worlds: seeded scenarios of a few
operations per member, run once the core-banking input is applied, so that each outcome
depends on the member's final tier, balance and usage only.

A member's operations run one after the other, each waiting until it is settled (a
points-paid one until the points service answered, a cancellation of one until its points
came back); members run side by side. Faults may hit any request: it is sent again, with the
same Idempotency-Key and body, until an answer comes (the stored first answer, if the first
attempt got through). Partners have fixed ids in both worlds; redemptions are compared by
partner and Idempotency-Key (state.py).
"""

from __future__ import annotations

import asyncio
import base64
import random
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg
import httpx

from runtime.auth import dev_token
from runtime.personal_data import Sealer
from services.rewards.partners import create_partner
from services.rewards.settings import read_lounges, read_offers
from simulator.spending import SHANGHAI
from tools.partner_client import PartnerClient

from .world import PARTNER_KEY, World

LOUNGE_PARTNER, OFFER_PARTNER = "ptn_chaos_lounges", "ptn_chaos_offers"
#: How long one operation may take, faults included, before it counts as stuck.
SETTLE_TIMEOUT = 300.0
CONCURRENCY = 8


@dataclass(frozen=True)
class Operation:
    kind: str  # "lounge", "offer", "cancel"
    item: str = ""  # lounge or offer id
    guests: int = 0
    allow_points: bool = False
    target: int = -1  # for a cancel: the index of the operation it cancels


@dataclass
class Scenario:
    member_id: str
    operations: list[Operation]

    def key(self, index: int) -> str:
        return f"chaos-{self.member_id}-{index}"


@dataclass
class Outcomes:
    """What the partners heard, per (partner, key): for the report and for debugging."""

    answers: dict[tuple[str, str], int] = field(default_factory=dict)
    stuck: list[str] = field(default_factory=list)
    retries: int = 0


def today() -> date:
    """The day in the programme's zone (rewards/benefits.toml): what redemptions count in."""
    return datetime.now(SHANGHAI).date()


def scenarios(rng: random.Random, member_ids: list[str], members: int) -> list[Scenario]:
    day = today()
    offers = sorted(o.id for o in read_offers() if o.valid_from <= day <= o.valid_until)
    lounges = sorted(r["lounge_id"] for r in read_lounges())
    out = []
    for member_id in rng.sample(member_ids, min(members, len(member_ids))):
        operations: list[Operation] = []
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5:
                operations.append(Operation("lounge", rng.choice(lounges), rng.choice((0, 0, 1, 2)),
                                            rng.random() < 0.7))
            else:
                operations.append(Operation("offer", rng.choice(offers)))
            if rng.random() < 0.3:
                operations.append(Operation("cancel", target=len(operations) - 1))
        out.append(Scenario(member_id, operations))
    return out


async def create_partners(world: World, database_url: str) -> dict[str, tuple[str, str]]:
    """The two partners in the world's rewards schema: partner id -> (key id, secret)."""
    sealer = Sealer(base64.b64decode(PARTNER_KEY))
    conn = await asyncpg.connect(database_url,
                                 server_settings={"search_path": world.schema("rewards")})
    try:
        keys = {}
        for partner_id, scope in ((LOUNGE_PARTNER, "lounge"), (OFFER_PARTNER, "offers")):
            _, key_id, secret = await create_partner(
                conn, sealer, name=partner_id, scopes=[scope], lounges=["*"], offers=["*"],
                rate=100_000, partner_id=partner_id)
            keys[partner_id] = (key_id, secret)
        return keys
    finally:
        await conn.close()


class Driver:
    def __init__(self, world: World, keys: dict[str, tuple[str, str]]) -> None:
        self.http = httpx.AsyncClient(base_url=world.url("rewards"), timeout=15)
        self.partners = {p: PartnerClient(self.http, *k) for p, k in keys.items()}
        self.outcomes = Outcomes()
        self._limit = asyncio.Semaphore(CONCURRENCY)
        #: Operations let through (`allow`), begun, and finished.
        self.allowed = self.begun = self.finished = 0
        self._gate = asyncio.Condition()

    async def close(self) -> None:
        await self.http.aclose()

    async def run(self, scenarios: list[Scenario]) -> None:
        await asyncio.gather(*(self._member(s) for s in scenarios))

    async def allow(self, operations: int) -> None:
        """Let `operations` more begin (the faults are timed by this)."""
        async with self._gate:
            self.allowed += operations
            self._gate.notify_all()

    @property
    def in_flight(self) -> int:
        return self.begun - self.finished

    async def _member(self, scenario: Scenario) -> None:
        async with self._limit:
            #: Confirmed redemptions: operation -> (partner, redemption id).
            made: dict[int, tuple[str, str]] = {}
            for index, op in enumerate(scenario.operations):
                key = scenario.key(index)
                async with self._gate:
                    await self._gate.wait_for(lambda: self.begun < self.allowed)
                    self.begun += 1
                try:
                    await asyncio.wait_for(self._operation(scenario, op, key, made, index),
                                           SETTLE_TIMEOUT)
                except TimeoutError:
                    self.outcomes.stuck.append(key)
                finally:
                    self.finished += 1

    async def _operation(self, scenario: Scenario, op: Operation, key: str,
                         made: dict[int, tuple[str, str]], index: int) -> None:
        if op.kind == "cancel":
            if op.target not in made:
                return  # what it would cancel was refused or rejected
            partner, redemption_id = made[op.target]
            client = self.partners[partner]
            answer = await self._send(partner, key, lambda: client.cancel(
                redemption_id, idempotency_key=key))
            if answer.status_code == 200:
                await self._settled(client, redemption_id, refunded=True)
            return
        code = await self._code(scenario.member_id)
        if code is None:
            self.outcomes.answers[("app", key)] = 0
            return
        if op.kind == "lounge":
            partner = LOUNGE_PARTNER
            client = self.partners[partner]
            answer = await self._send(partner, key, lambda: client.redeem_lounge(
                code, op.item, guests=op.guests, allow_points=op.allow_points,
                idempotency_key=key))
        else:
            partner = OFFER_PARTNER
            client = self.partners[partner]
            answer = await self._send(partner, key, lambda: client.redeem_offer(
                code, op.item, idempotency_key=key))
        if answer.status_code in (201, 202):
            redemption_id = answer.json()["id"]
            settled = await self._settled(client, redemption_id, refunded=False)
            if settled["status"] == "confirmed":  # what a cancellation may cancel
                made[index] = (partner, redemption_id)

    async def _send(self, partner: str, key: str, request) -> httpx.Response:
        """The request until it is answered (not by a fault: no connection, 5xx)."""
        response = await self._retried(request)
        self.outcomes.answers[(partner, key)] = response.status_code
        return response

    async def _retried(self, request) -> httpx.Response:
        while True:
            try:
                response = await request()
                if response.status_code < 500:
                    return response
            except httpx.TransportError:
                pass
            self.outcomes.retries += 1
            await asyncio.sleep(0.5)

    async def _code(self, member_id: str) -> str | None:
        response = await self._retried(lambda: self.http.post(
            f"/v1/app/members/{member_id}/redemption-codes",
            headers={"Authorization": f"Bearer {dev_token('app', member_id)}"}))
        return response.json()["code"] if response.status_code == 201 else None

    async def _settled(self, client: PartnerClient, redemption_id: str, *, refunded: bool
                       ) -> dict[str, Any]:
        """Until the redemption is no longer pending (and, for a cancelled points-paid one,
        until its points are back)."""
        while True:
            response = await self._retried(lambda: client.get(redemption_id))
            body = response.json()
            if body.get("status") != "pending" and not (
                    refunded and body.get("points") and body.get("refund_status") != "refunded"):
                return body
            await asyncio.sleep(0.3)
