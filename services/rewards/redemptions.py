"""What the partner API does, between the HTTP edge (api.py) and the SQL (rewards_sql.py):
redeem, cancel and the saga's wait, each answered once per Idempotency-Key.

Every POST runs as: claim the key -> decide and record in ONE transaction (the key's row,
the code, the usage counter, the redemption and its outbox event) -> for a points-paid
redemption, wait a bounded time for the points service's answer -> store the first answer.
A refusal rolls back what the decision touched (the code stays usable) but is stored too.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from contracts.envelope import encode
from contracts.rewards.v1 import RedemptionCancelled, RedemptionConfirmed, RedemptionRequested
from runtime import outbox

from . import rewards_sql as sql
from .domain import codes
from .domain.benefits import DEFAULT_TIER, Benefits, lounge_period, lounge_visit
from .domain.errors import Refused, refuse
from .domain.offers import Offer, period_key, redeem_offer
from .domain.partners import Partner
from .schemas import LoungeRedemptionRequest, OfferRedemptionRequest, Redemption
from .waiter import Settlements

SOURCE = "urn:loyalty:rewards"
_EVENT_IDS = uuid.uuid5(uuid.NAMESPACE_URL, SOURCE)


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer to a POST as sent: the JSON body's bytes are what is stored for the key, so
    a replay answers byte for byte the same."""

    status: int
    content: bytes
    location: str | None = None

    @classmethod
    def of(cls, status: int, body: dict, location: str | None = None) -> Answer:
        return cls(status, render(body), location)

    @property
    def headers(self) -> dict[str, str]:
        return {"Location": self.location} if self.location else {}


def render(body: dict) -> bytes:
    """JSON as the HTTP layer renders it (compact, UTF-8)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Pending:
    redemption_id: str


Perform = Callable[[asyncpg.Connection], Awaitable[Answer | Pending]]


def error(exc: Refused, redemption_id: str | None = None) -> Answer:
    body = {"code": exc.code, "message": exc.message}
    if redemption_id:
        body["redemption_id"] = redemption_id
    return Answer.of(exc.status, body)


def view(row: asyncpg.Record) -> dict:
    return Redemption.model_validate(dict(row)).model_dump(mode="json")


def location(redemption_id: str) -> str:
    return f"/v1/redemptions/{redemption_id}"


def event_id(redemption_id: str, ce_type: str) -> str:
    """One event of each type per redemption, whatever retries happen."""
    return str(uuid.uuid5(_EVENT_IDS, f"{redemption_id}:{ce_type}"))


def request_hash(method: str, path: str, body: bytes) -> bytes:
    return hashlib.sha256(b"\n".join((method.encode(), path.encode(), body))).digest()


class Redemptions:
    def __init__(self, *, pool: asyncpg.Pool, benefits: Benefits, pepper: bytes,
                 settlements: Settlements, saga_wait: float) -> None:
        self.pool = pool
        self.benefits = benefits
        self.pepper = pepper
        self.settlements = settlements
        self.saga_wait = saga_wait
        self.offers: dict[str, Offer] = {}
        self.lounges: dict[str, asyncpg.Record] = {}

    # ------------------------------------------------------------------ once per key

    async def once(self, partner: Partner, key: str, digest: bytes, perform: Perform) -> Answer:
        waiting = None  # registered before the commit: no settlement can slip past it
        try:
            async with self.pool.acquire() as conn:
                async with conn.transaction():
                    if await sql.claim_key(conn, partner.id, key, digest):
                        try:
                            async with conn.transaction():  # a savepoint: a refusal undoes it
                                result = await perform(conn)
                        except Refused as exc:
                            result = error(exc)
                        if isinstance(result, Answer):
                            return Answer(*await sql.store_answer(
                                conn, partner.id, key, result.status, result.content,
                                result.location))
                        await sql.key_redemption(conn, partner.id, key, result.redemption_id)
                        pending = result.redemption_id
                        waiting = self.settlements.expect(pending)
                        stored = None
                    else:
                        stored = await sql.stored_key(conn, partner.id, key)
        except BaseException:
            if waiting is not None:
                self.settlements.forget(pending, waiting)
            raise
        if stored is not None:
            if stored["request_hash"] != digest:
                return error(refuse("idempotency_key_reused",
                                    "this Idempotency-Key was used with another request"))
            if stored["status_code"] is not None:
                return Answer(stored["status_code"], stored["body"], stored["location"])
            pending = stored["redemption_id"]
        return await self._saga_answer(partner, key, pending, waiting)

    async def _saga_answer(self, partner: Partner, key: str, redemption_id: str,
                           waiting: asyncio.Future | None) -> Answer:
        """The settling consumer stores the answer for the key when it settles (handlers.py)
        and notifies; without an answer in time, 202 (or the outcome, if it came just now)."""
        async def answered() -> tuple[int, bytes, str | None] | None:
            return await sql.stored_answer(self.pool, partner.id, key)

        stored = await self.settlements.wait(redemption_id, self.saga_wait, answered, waiting)
        if stored is not None:
            return Answer(*stored)
        row = await sql.redemption(self.pool, partner.id, redemption_id)
        answer = (Answer.of(202, view(row), location(redemption_id))
                  if row["status"] == "pending" else settled_answer(row))
        return Answer(*await sql.store_answer(self.pool, partner.id, key, answer.status,
                                              answer.content, answer.location))

    # ------------------------------------------------------------------ decisions

    def redeem_lounge(self, partner: Partner, req: LoungeRedemptionRequest) -> Perform:
        async def perform(conn: asyncpg.Connection) -> Answer | Pending:
            lounge = self.lounges.get(req.lounge_id)
            if lounge is None:
                raise refuse("unknown_lounge", f"no lounge {req.lounge_id}")
            partner.require_item("lounge", lounge["id"])
            member_id, tier = await self._use_code(conn, req.code)
            now = datetime.now(UTC)
            today = self.benefits.today(now)
            period = lounge_period(today)
            persons = 1 + req.guests
            used = await sql.lock_usage(conn, member_id, "lounge", period)
            decision = lounge_visit(self.benefits, tier, used, persons, req.allow_points)
            if decision.taken:
                await sql.add_usage(conn, member_id, "lounge", period, decision.taken)
            return await self._record(conn, now, dict(
                partner_id=partner.id, member_id=member_id, kind="lounge", item_id=lounge["id"],
                title=lounge["name"], persons=persons, points=decision.points,
                usage_item="lounge", usage_period=period, usage_taken=decision.taken,
                valid_on=today))
        return perform

    def redeem_offer(self, partner: Partner, req: OfferRedemptionRequest) -> Perform:
        async def perform(conn: asyncpg.Connection) -> Answer | Pending:
            offer = self.offers.get(req.offer_id)
            if offer is None:
                raise refuse("unknown_offer", f"no offer {req.offer_id}")
            partner.require_item("offer", offer.id)
            member_id, tier = await self._use_code(conn, req.code)
            now = datetime.now(UTC)
            today = self.benefits.today(now)
            period = period_key(offer.period, today)
            used = await sql.lock_usage(conn, member_id, offer.id, period)
            points = redeem_offer(offer, tier, today, used)
            await sql.add_usage(conn, member_id, offer.id, period, 1)
            return await self._record(conn, now, dict(
                partner_id=partner.id, member_id=member_id, kind="offer", item_id=offer.id,
                title=offer.title[:64], persons=1, points=points, usage_item=offer.id,
                usage_period=period, usage_taken=1, valid_on=None))
        return perform

    def cancel(self, partner: Partner, redemption_id: str) -> Perform:
        async def perform(conn: asyncpg.Connection) -> Answer:
            row = await sql.cancel(conn, partner.id, redemption_id)
            if row is None:
                existing = await sql.redemption(conn, partner.id, redemption_id)
                if existing is None:
                    raise refuse("not_found", f"no redemption {redemption_id}")
                raise refuse("not_cancellable",
                             f"a {existing['status']} redemption cannot be cancelled")
            await sql.give_back(conn, [row])
            event = RedemptionCancelled(
                member_id=row["member_id"], redemption_id=row["id"], title=row["title"],
                points_to_refund=row["points"], cancelled_at=row["cancelled_at"])
            await outbox.write(conn, [encode(event, source=SOURCE,
                                             id=event_id(row["id"], event.ce_type))])
            return Answer.of(200, view(row))
        return perform

    async def _record(self, conn: asyncpg.Connection, now: datetime, r: dict
                      ) -> Answer | Pending:
        r["id"] = f"rdm_{uuid.uuid4().hex}"
        r["status"] = "pending" if r["points"] else "confirmed"
        row = await sql.insert_redemption(conn, r)
        common = dict(member_id=r["member_id"], redemption_id=r["id"],
                      partner_id=r["partner_id"], kind=r["kind"], item_id=r["item_id"],
                      persons=r["persons"], points=r["points"])
        if r["points"]:  # the saga: the points service debits or rejects
            event = RedemptionRequested(**common, requested_at=now)
        else:
            event = RedemptionConfirmed(**common, title=r["title"], valid_on=r["valid_on"],
                                        confirmed_at=now)
        await outbox.write(conn, [encode(event, source=SOURCE,
                                         id=event_id(r["id"], event.ce_type))])
        if r["points"]:
            return Pending(r["id"])
        return Answer.of(201, view(row), location(r["id"]))

    async def _use_code(self, conn: asyncpg.Connection, code: str) -> tuple[str, str]:
        """The code's member and their tier, using up the code."""
        normalised = codes.normalise(code)
        if normalised is None:
            raise refuse("code_invalid", "not a redemption code")
        digest = codes.code_hash(self.pepper, normalised)
        used = await sql.use_code(conn, digest)
        if used is not None:
            return used["member_id"], _tier(used["member_id"] if used["tier"] else None, used)
        state = await sql.code_state(conn, digest)
        if state is None:
            raise refuse("code_invalid", "unknown redemption code")
        if state["used"]:
            raise refuse("code_used", "this redemption code was already used")
        raise refuse("code_expired", "this redemption code has expired")

    async def _tier(self, conn: asyncpg.Connection | asyncpg.Pool, member_id: str) -> str:
        member = await sql.member(conn, member_id)
        return _tier(member_id if member else None, member)

    # ------------------------------------------------------------------ for the app

    async def issue_code(self, member_id: str) -> tuple[str, datetime]:
        await self._tier(self.pool, member_id)  # a closed member gets no code
        code = codes.new_code()
        expires_at = datetime.now(UTC) + timedelta(minutes=self.benefits.code_minutes)
        await sql.insert_code(self.pool, codes.code_hash(self.pepper, codes.normalise(code)),
                              member_id, expires_at)
        return code, expires_at


def settled_answer(row: asyncpg.Record) -> Answer:
    """The answer to a points-paid redemption the points service has answered."""
    if row["status"] == "rejected":
        return error(refuse(row["reason"], _REJECTIONS.get(row["reason"], row["reason"])),
                     row["id"])
    return Answer.of(201, view(row), location(row["id"]))  # confirmed, or cancelled since


def _tier(known: str | None, member) -> str:
    """The member's tier; a closed member is refused. Not told about yet (the accounts
    event may lag behind the app): Standard, as at enrolment."""
    if known is None:
        return DEFAULT_TIER
    if member["closed"]:
        raise refuse("member_closed", "the member's benefits have ended")
    return member["tier"]


_REJECTIONS = {
    "insufficient_points": "the member does not have enough points",
    "member_closed": "the member's benefits have ended",
    "unknown_member": "the points service does not know the member",
    "timed_out": "the points service did not answer in time",
}
