"""The partners, at a configurable rate: a lounge operator and alliance merchants signing
requests to the rewards API with a key made by `loyalty-ops partners create`, for members of
the simulated population who show a code the app asked for (a member's app token: in
development `runtime.auth.dev_token`, which the services trust with ENVIRONMENT=dev).

Each tick (`Visit`, a pure choice from the seeded generator): a lounge visit at a catalogue
lounge (some with guests paid in points), an offer (some paid in points: a saga through
points), and now and then what gets refused: a code shown twice, a lounge outside the
partner's, a request signed with a wrong secret. Some confirmed redemptions are cancelled
(points-paid ones are refunded). Outcomes are counted by HTTP status.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from services.rewards.settings import read_lounges, read_offer_rows
from tools.partner_client import PartnerClient

Kind = Literal["lounge", "offer", "code_twice", "foreign_lounge", "bad_signature"]
#: How often each kind of request is made.
MIX: dict[Kind, float] = {"lounge": 0.45, "offer": 0.40, "code_twice": 0.05,
                          "foreign_lounge": 0.05, "bad_signature": 0.05}
CANCEL_SHARE = 0.1
#: The simulated partner's lounges (scripts/run creates it so): every one but Urumqi's,
#: where its out-of-scope visits go.
PARTNER_LOUNGES = "[!U]*"
FOREIGN_PREFIX = "U"


@dataclass(frozen=True)
class Visit:
    kind: Kind
    member: str
    item: str
    guests: int = 0
    allow_points: bool = False
    cancel: bool = False


def choose(rng: random.Random, members: Sequence[str], lounges: Sequence[str],
           offers: Sequence[str]) -> Visit:
    """The next request (pure: the same seed gives the same traffic). `lounges`: the
    catalogue's, those outside the partner's first (`FOREIGN_PREFIX`)."""
    kind: Kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    member = rng.choice(members)
    cancel = rng.random() < CANCEL_SHARE
    if kind == "offer":
        return Visit(kind, member, rng.choice(offers), cancel=cancel)
    foreign = [lounge for lounge in lounges if lounge.startswith(FOREIGN_PREFIX)]
    if kind == "foreign_lounge":
        return Visit(kind, member, rng.choice(foreign))
    own = [lounge for lounge in lounges if not lounge.startswith(FOREIGN_PREFIX)]
    return Visit(kind, member, rng.choice(own), guests=rng.choice((0, 0, 0, 1, 2)),
                 allow_points=rng.random() < 0.5, cancel=cancel)


def load_key(path: Path) -> tuple[str, str]:
    """(key id, secret) from the JSON `loyalty-ops partners create --json` prints."""
    key = json.loads(path.read_text())
    return key["key_id"], key["secret"]


class PartnerTraffic:
    def __init__(self, http: httpx.AsyncClient, key_id: str, secret: str,
                 members: Callable[[], Sequence[str]], app_token: Callable[[str], str],
                 rng: random.Random) -> None:
        self.partner = PartnerClient(http, key_id, secret)
        self.forger = PartnerClient(http, key_id, "sk_not_the_partners_secret")
        self.http = http
        self.members = members
        self.app_token = app_token
        self.rng = rng
        self.lounges = [row["lounge_id"] for row in read_lounges()]
        self.offers = [row["offer_id"] for row in read_offer_rows()]
        #: "<kind> <status>" -> count; "cancel <status>" for cancellations.
        self.outcomes: Counter[str] = Counter()

    async def code(self, member: str) -> str | None:
        answer = await self.http.post(
            f"/v1/app/members/{member}/redemption-codes",
            headers={"Authorization": f"Bearer {self.app_token(member)}"})
        self.outcomes[f"code {answer.status_code}"] += 1
        return answer.json()["code"] if answer.status_code == 201 else None

    async def one(self, visit: Visit) -> None:
        code = await self.code(visit.member)
        if code is None:
            return
        if visit.kind == "offer":
            answer = await self.partner.redeem_offer(code, visit.item)
        elif visit.kind == "bad_signature":
            answer = await self.forger.redeem_lounge(code, visit.item)
        else:
            answer = await self.partner.redeem_lounge(code, visit.item, guests=visit.guests,
                                                      allow_points=visit.allow_points)
        if visit.kind == "code_twice" and answer.status_code in (201, 202):
            answer = await self.partner.redeem_lounge(code, visit.item)
        self.outcomes[f"{visit.kind} {answer.status_code}"] += 1
        if visit.cancel and answer.status_code == 201:
            cancelled = await self.partner.cancel(answer.json()["id"])
            self.outcomes[f"cancel {cancelled.status_code}"] += 1

    async def run(self, rate: float, duration: float | None = None,
                  in_flight: int = 20) -> Counter[str]:
        """`rate` requests a second (open loop: each in a task of its own) until cancelled
        or `duration` seconds have passed. At most `in_flight` at once: when the service is
        slower than that, the rest are counted `skipped` rather than queued."""
        tasks: set[asyncio.Task] = set()
        started, sent = time.monotonic(), 0
        try:
            while duration is None or time.monotonic() - started < duration:
                due = int((time.monotonic() - started) * rate) - sent
                members = self.members()
                for _ in range(due if members else 0):
                    visit = choose(self.rng, members, self.lounges, self.offers)
                    if len(tasks) >= in_flight:
                        self.outcomes[f"{visit.kind} skipped"] += 1
                        continue
                    task = asyncio.create_task(self._counted(visit))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                sent += max(due, 0)
                await asyncio.sleep(0.05)
            if tasks:
                await asyncio.wait(tasks, timeout=30)
        finally:
            for task in tasks:
                task.cancel()
        return self.outcomes

    async def _counted(self, visit: Visit) -> None:
        try:
            await self.one(visit)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            self.outcomes[f"{visit.kind} error {type(exc).__name__}"] += 1
