"""The partner API's commands (redeem a lounge visit or an offer, cancel) and the app's
requests (a redemption code, the entitlements).

A partner POST is decided once per Idempotency-Key. A redemption:

    load    ONE read: the nonce, the key, and what the decision needs (sql/redemptions.py)
    decide  the rules in domain/; a refusal is an answer too (the code stays usable)
    save    ONE guarded statement, its own transaction: nonce, key and its answer, code
            used, usage taken, the redemption, and the outbox rows of its events (emitted
            first); if what the decision read changed meanwhile (another request got on
            first) it writes nothing, and the request loads and decides again

A cancellation loads and locks in one statement and saves in another, in one transaction.
Then a points-paid redemption waits a bounded time for the points service's answer (201 or
the rejection), else answers 202. A key decided before answers its stored first answer (or
waits for the saga's); the same key with another request is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from contracts.tiers import ENROLMENT_TIER
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork, connection, one_statement, unit_of_work

from ..domain import codes
from ..domain.benefits import Benefits, remaining_visits
from ..domain.catalogue import CatalogueView
from ..domain.errors import Refused, refuse
from ..domain.partners import Partner
from ..domain.redemptions import (
    Counter,
    Facts,
    Redemption,
    lounge_counter,
    lounge_visit_redemption,
    member_tier,
    offer_counter,
    offer_redemption,
)
from ..domain.references import new_redemption_id
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
from ..sql.idempotency import StoredKey
from ..sql.redemptions import Claim, Request

#: Saves of one request that may find what they read changed (each time because another
#: request got on first): a bound that is not reached in practice.
ATTEMPTS = 100


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
        #: The catalogue as this instance holds it, kept current by handlers/catalogue.py.
        self.catalogue = CatalogueView()

    # ------------------------------------------------------------------ partner POSTs

    async def redeem_lounge(self, caller: Caller, key: str,
                            req: LoungeRedemptionRequest) -> Answer:
        now = datetime.now(UTC)
        lounge = self.catalogue.lounge(req.lounge_id, self.benefits.today(now))

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
        offer = self.catalogue.offer(req.offer_id)

        def decide(facts: Facts, redemption_id: str) -> Redemption:
            return offer_redemption(caller.partner, offer, req.offer_id, facts=facts,
                                    today=today, id=redemption_id, now=now)
        counter = offer_counter(offer, today) if offer else None
        return await self._redeem(caller, key, req.code, counter, decide)

    async def _redeem(self, caller: Caller, key: str, code: str, counter: Counter | None,
                      decide: Callable[[Facts, str], Redemption]) -> Answer:
        normalised = codes.normalise(code)
        code_hash = None if normalised is None else codes.code_hash(self.pepper, normalised)
        async with connection(self.pool) as conn:
            outcome = await self._decided(conn, caller, key, code_hash, counter, decide)
        if isinstance(outcome, Answer):
            return outcome
        if isinstance(outcome, StoredKey):
            return await self._stored_answer(caller, key, outcome)
        return await self._saga_answer(caller.partner, key, *outcome)

    async def _decided(self, conn: asyncpg.Connection, caller: Caller, key: str,
                       code_hash: bytes | None, counter: Counter | None,
                       decide: Callable[[Facts, str], Redemption]
                       ) -> Answer | StoredKey | tuple[str, asyncio.Future]:
        """Load, decide, save: the answer; or the key as stored (decided before); or the
        redemption waiting for points, and its settlement's future."""
        request = caller.request(key)
        for _ in range(ATTEMPTS):
            loaded = await sql.load_for_redemption(conn, request, code_hash, counter)
            if loaded.nonce_used:
                raise nonce_reused()
            if loaded.stored is not None:  # decided before: its answer, with this nonce
                if not await sql.first_use(conn, request):
                    raise nonce_reused()
                return loaded.stored
            try:
                return await self._save(conn, caller, key, code_hash, loaded.facts, decide)
            except sql.Changed:  # another request got on first: load and decide again
                pass
        raise RuntimeError(f"{ATTEMPTS} saves found what their decision read changed")

    async def _save(self, conn: asyncpg.Connection, caller: Caller, key: str,
                    code_hash: bytes | None, facts: Facts,
                    decide: Callable[[Facts, str], Redemption]
                    ) -> Answer | tuple[str, asyncio.Future]:
        try:
            redemption = decide(facts, new_redemption_id())
        except Refused as exc:
            answer = error(exc)
            await sql.refuse(conn, caller.request(key), answer)
            return answer
        assert code_hash is not None  # a redemption has a live code
        pending = redemption.status == "pending"
        answer = None if pending else created(redemption)
        # Registered before the commit: no settlement slips by.
        waiting = self.settlements.expect(redemption.id) if pending else None
        try:
            async with one_statement(conn, service=self.service) as uow:
                emit_events(uow, redemption)
                await sql.record(uow, caller.request(key), redemption, code_hash, answer)
        except BaseException:
            if waiting is not None:
                self.settlements.forget(redemption.id, waiting)
            raise
        return answer or (redemption.id, waiting)

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
                    step: Callable[[UnitOfWork], Awaitable[tuple[Claim, Answer | None]]]
                    ) -> Answer:
        """`step` in one unit of work: its answer; or, for a key claimed before, its first
        answer."""
        async with unit_of_work(self.pool, service=self.service) as uow:
            claim, outcome = await step(uow)
            if claim == "nonce_reused":
                raise nonce_reused()
            if outcome is not None:
                return outcome
            # The key is held: after waiting for its holder, a statement of its own.
            stored = await idempotency.stored_key(uow.conn, caller.partner.id, key)
        return await self._stored_answer(caller, key, stored)

    async def _stored_answer(self, caller: Caller, key: str, stored: StoredKey) -> Answer:
        if stored.request_hash != caller.request_hash:
            return error(refuse("idempotency_key_reused",
                                "this Idempotency-Key was used with another request"))
        if stored.status_code is not None:
            return Answer(stored.status_code, stored.body, stored.location)
        return await self._saga_answer(caller.partner, key, stored.redemption_id, None)

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
