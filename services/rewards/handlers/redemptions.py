"""The partner API's commands (redeem a lounge visit or an offer, cancel) and the app's
requests (a redemption code, the entitlements).

A partner POST is one unit of work, once per Idempotency-Key:

    load    ONE statement records the nonce, claims the key and locks what the decision
            reads (sql/redemptions.py)
    decide  the rules in domain/; a refusal is an answer too (the code stays usable)
    save    ONE statement: code used, usage taken, the redemption, the answer stored for the
            key, and the outbox rows of its events (emitted first)

then a points-paid redemption waits a bounded time for the points service's answer (201 or
the rejection), else answers 202. A key claimed before answers its stored first answer (or
waits for the saga's); the same key with another request is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from contracts.tiers import ENROLMENT_TIER
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork, unit_of_work

from ..domain import codes
from ..domain.benefits import Benefits, remaining_visits
from ..domain.errors import Refused, refuse
from ..domain.offers import Offer
from ..domain.partners import Partner
from ..domain.redemptions import (
    Counter,
    Facts,
    Lounge,
    Redemption,
    lounge_counter,
    lounge_visit_redemption,
    member_tier,
    offer_counter,
    offer_redemption,
)
from ..domain.signing import nonce_reused
from ..schemas import (
    Answer,
    Entitlements,
    LoungeEntitlement,
    LoungeRedemptionRequest,
    OfferRedemptionRequest,
    created,
    error,
    settled,
    view,
)
from ..settlements import Settlements
from ..sql import idempotency
from ..sql import members as members_sql
from ..sql import redemptions as sql
from ..sql.redemptions import Claim, Request


@dataclass(frozen=True, slots=True)
class Caller:
    """A partner's signed request, as its command needs it (api.py makes it)."""

    partner: Partner
    key_id: str
    nonce: str
    #: Of the method, path and body: what an Idempotency-Key is bound to.
    request_hash: bytes

    def request(self, key: str) -> Request:
        return Request(self.partner.id, self.key_id, self.nonce, key, self.request_hash)


def request_hash(method: str, path: str, body: bytes) -> bytes:
    return hashlib.sha256(b"\n".join((method.encode(), path.encode(), body))).digest()


class Redemptions:
    def __init__(self, *, service: str, pool: asyncpg.Pool, benefits: Benefits, pepper: bytes,
                 settlements: Settlements, saga_wait: float) -> None:
        self.service = service
        self.pool = pool
        self.benefits = benefits
        self.pepper = pepper
        self.settlements = settlements
        self.saga_wait = saga_wait
        #: The catalogue, loaded at start (app.py).
        self.offers: dict[str, Offer] = {}
        self.lounges: dict[str, Lounge] = {}

    # ------------------------------------------------------------------ partner POSTs

    async def redeem_lounge(self, caller: Caller, key: str,
                            req: LoungeRedemptionRequest) -> Answer:
        now = datetime.now(UTC)
        lounge = self.lounges.get(req.lounge_id)

        def decide(facts: Facts, redemption_id: str) -> Redemption:
            return lounge_visit_redemption(
                self.benefits, caller.partner, lounge, req.lounge_id, guests=req.guests,
                allow_points=req.allow_points, facts=facts, id=redemption_id, now=now)
        counter = lounge_counter(self.benefits.today(now)) if lounge else None
        return await self._redeem(caller, key, req.code, counter, decide)

    async def redeem_offer(self, caller: Caller, key: str,
                           req: OfferRedemptionRequest) -> Answer:
        now = datetime.now(UTC)
        today = self.benefits.today(now)
        offer = self.offers.get(req.offer_id)

        def decide(facts: Facts, redemption_id: str) -> Redemption:
            return offer_redemption(caller.partner, offer, req.offer_id, facts=facts,
                                    today=today, id=redemption_id, now=now)
        counter = offer_counter(offer, today) if offer else None
        return await self._redeem(caller, key, req.code, counter, decide)

    async def _redeem(self, caller: Caller, key: str, code: str, counter: Counter | None,
                      decide: Callable[[Facts, str], Redemption]) -> Answer:
        normalised = codes.normalise(code)
        code_hash = None if normalised is None else codes.code_hash(self.pepper, normalised)

        async def step(uow: UnitOfWork) -> tuple[Claim, Answer | Redemption | None]:
            claim, facts = await sql.load_for_redemption(uow.conn, caller.request(key),
                                                         code_hash, counter)
            if claim != "claimed":
                return claim, None
            try:
                redemption = decide(facts, f"rdm_{uuid.uuid4().hex}")
            except Refused as exc:
                return claim, await _store(uow, caller, key, error(exc))
            answer = None if redemption.status == "pending" else created(redemption)
            emit_events(uow, redemption)
            await sql.record(uow, redemption, code_hash, key, answer)
            return claim, answer or redemption
        return await self._once(caller, key, step)

    async def cancel(self, caller: Caller, key: str, redemption_id: str) -> Answer:
        async def step(uow: UnitOfWork) -> tuple[Claim, Answer | None]:
            claim, redemption = await sql.load_for_cancel(uow.conn, caller.request(key),
                                                          redemption_id)
            if claim != "claimed":
                return claim, None
            try:
                if redemption is None:  # another partner's is as absent as a made-up one
                    raise refuse("not_found", f"no redemption {redemption_id}")
                redemption.cancel(datetime.now(UTC))
            except Refused as exc:
                return claim, await _store(uow, caller, key, error(exc))
            answer = Answer.of(200, view(redemption))
            emit_events(uow, redemption)
            await sql.save_cancelled(uow, redemption, key, answer)
            return claim, answer
        return await self._once(caller, key, step)

    async def _once(self, caller: Caller, key: str,
                    step: Callable[[UnitOfWork], Awaitable[tuple[Claim, Answer | Redemption
                                                                 | None]]]) -> Answer:
        """`step` in one unit of work: its answer; or, for a redemption waiting for points,
        the saga's answer; or, for a key claimed before, its first answer."""
        waiting = pending = None  # registered before the commit: no settlement slips by
        try:
            async with unit_of_work(self.pool, service=self.service) as uow:
                claim, outcome = await step(uow)
                if claim == "nonce_reused":
                    raise nonce_reused()
                if isinstance(outcome, Answer):
                    return outcome
                if isinstance(outcome, Redemption):
                    pending = outcome.id
                    waiting = self.settlements.expect(pending)
                else:  # the key is held: after waiting for its holder, a statement of its own
                    stored = await idempotency.stored_key(uow.conn, caller.partner.id, key)
        except BaseException:
            if waiting is not None:
                self.settlements.forget(pending, waiting)
            raise
        if pending is None:
            if stored["request_hash"] != caller.request_hash:
                return error(refuse("idempotency_key_reused",
                                    "this Idempotency-Key was used with another request"))
            if stored["status_code"] is not None:
                return Answer(stored["status_code"], stored["body"], stored["location"])
            pending = stored["redemption_id"]
        return await self._saga_answer(caller.partner, key, pending, waiting)

    async def _saga_answer(self, partner: Partner, key: str, redemption_id: str,
                           waiting: asyncio.Future | None) -> Answer:
        """The settling consumer stores the answer for the key when it settles
        (handlers/saga.py) and notifies; without an answer in time, 202 (or the outcome,
        if it came just now)."""
        async def answered() -> tuple[int, bytes, str | None] | None:
            return await idempotency.stored_answer(self.pool, partner.id, key)

        stored = await self.settlements.wait(redemption_id, self.saga_wait, answered, waiting)
        if stored is not None:
            return Answer(*stored)
        r = await sql.redemption(self.pool, partner.id, redemption_id)
        answer = created(r, 202) if r.status == "pending" else settled(r)
        return Answer(*await idempotency.store_answer(self.pool, partner.id, key, *answer))

    # ------------------------------------------------------------------ for the app

    async def issue_code(self, member_id: str) -> tuple[str, datetime]:
        """A single-use code for the member; a closed member gets none."""
        member = await members_sql.member(self.pool, member_id)
        if member is not None:
            member_tier(member["tier"], member["closed"])
        code = codes.new_code()
        expires_at = datetime.now(UTC) + timedelta(minutes=self.benefits.code_minutes)
        await members_sql.insert_code(
            self.pool, codes.code_hash(self.pepper, codes.normalise(code)), member_id,
            expires_at)
        return code, expires_at

    async def entitlements(self, member_id: str) -> Entitlements:
        today = self.benefits.today(datetime.now(UTC))
        row = await members_sql.member_and_usage(self.pool, member_id, lounge_counter(today))
        tier = row["tier"] or ENROLMENT_TIER
        return Entitlements(
            tier=tier, closed=row["closed"],
            lounge=LoungeEntitlement(
                year=today.year, allowance=self.benefits.visits_per_year[tier],
                used=row["used"], remaining=remaining_visits(self.benefits, tier, row["used"]),
                points_per_person_beyond=self.benefits.points_per_person))


async def _store(uow: UnitOfWork, caller: Caller, key: str, answer: Answer) -> Answer:
    return Answer(*await idempotency.store_answer(uow.conn, caller.partner.id, key, *answer))


def emit_events(uow: UnitOfWork, redemption: Redemption, cause: Inbound | None = None,
                *key: str) -> None:
    """What the redemption caused, each event with the id of its type for this redemption
    (and `key`, for a second event of a type), traced to `cause`."""
    for event in redemption.events:  # one event of each type per redemption, whatever retries
        uow.emit(event, cause, key=(redemption.id, event.ce_type, *key))
