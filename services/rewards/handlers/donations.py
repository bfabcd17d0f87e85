"""The app's donations: a member gives points to a charity partner (domain/donations.py),
and reads a year's donations for their statement.

A donation is decided once per (member, Idempotency-Key), in one unit of work: the key
claimed (a second request with it waits for the first one's commit, then hears its answer),
the decision, then the pending donation recorded with its `redemption.requested` in the
outbox, or the refusal stored as the key's answer. Then it waits a bounded time for the
saga (handlers/saga.py stores the outcome for the key and NOTIFYs): 201 confirmed, the
rejection (`insufficient_points`: the points ledger never overdraws), or 202 while the
points service has not answered; a 202 is not stored, so a retry with the key hears the
outcome once there is one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import asyncpg

from runtime.unit_of_work import unit_of_work

from ..domain.donations import (
    Charity,
    donation,
    idempotency_owner,
    request_hash,
    year_bounds,
    year_total,
)
from ..domain.errors import Refused, refuse
from ..schemas import (
    Answer,
    CharityView,
    DonationRequest,
    DonationYear,
    donated,
    donation_view,
    error,
    settled,
)
from ..settlements import Settlements
from ..sql import donations as sql
from ..sql import idempotency
from ..sql.idempotency import StoredKey
from .redemptions import emit_events


@dataclass(kw_only=True)
class Donations:
    service: str
    pool: asyncpg.Pool
    charities: Mapping[str, Charity]
    zone: ZoneInfo  # of the calendar years
    settlements: Settlements
    saga_wait: float  # seconds a donation waits for the saga before answering 202

    def charity_list(self) -> list[CharityView]:
        return [CharityView(id=c.id, name=c.name_zh, name_en=c.name_en,
                            min_points=c.min_points, max_points=c.max_points)
                for c in self.charities.values()]

    async def donate(self, member_id: str, key: str, req: DonationRequest) -> Answer:
        owner = idempotency_owner(member_id)
        hashed = request_hash(req.charity_id, req.points)
        donation_id = f"rdm_{uuid.uuid4().hex}"
        waiting = self.settlements.expect(donation_id)  # before the commit: none slips by
        try:
            outcome = await self._decided(member_id, owner, key, hashed, req, donation_id)
        except BaseException:
            self.settlements.forget(donation_id, waiting)
            raise
        if outcome is None:
            return await self._saga_answer(member_id, owner, key, donation_id, waiting)
        self.settlements.forget(donation_id, waiting)
        if isinstance(outcome, Answer):
            return outcome
        return await self._stored_answer(member_id, owner, key, hashed, outcome)

    async def _decided(self, member_id: str, owner: str, key: str, hashed: bytes,
                       req: DonationRequest, donation_id: str) -> Answer | StoredKey | None:
        """Claim, decide, save: the refusal; or the key as an earlier request stored it; or
        None, the donation recorded and waiting for points."""
        async with unit_of_work(self.pool, service=self.service) as uow:
            if not await sql.claim(uow.conn, owner, key, hashed):
                return await idempotency.stored_key(uow.conn, owner, key)
            try:
                d = donation(self.charities.get(req.charity_id), req.charity_id, req.points,
                             member_id=member_id, closed=await sql.closed(uow.conn, member_id),
                             id=donation_id, now=datetime.now(UTC))
            except Refused as exc:
                answer = error(exc)
                await idempotency.store_answer(uow.conn, owner, key, *answer)
                return answer
            emit_events(uow, d)
            await sql.record(uow, d, owner, key)
        return None

    async def _stored_answer(self, member_id: str, owner: str, key: str, hashed: bytes,
                             stored: StoredKey) -> Answer:
        if stored.request_hash != hashed:
            return error(refuse("idempotency_key_reused",
                                "this Idempotency-Key was used with another request"))
        if stored.status_code is not None:
            return Answer(stored.status_code, stored.body, stored.location)
        assert stored.redemption_id is not None  # recorded with the key in one transaction
        return await self._saga_answer(member_id, owner, key, stored.redemption_id, None)

    async def _saga_answer(self, member_id: str, owner: str, key: str, donation_id: str,
                           waiting: asyncio.Future | None) -> Answer:
        async def answered() -> tuple[int, bytes, str | None] | None:
            return await idempotency.stored_answer(self.pool, owner, key)

        stored = await self.settlements.wait(donation_id, self.saga_wait, answered, waiting)
        if stored is not None:
            return Answer(*stored)
        d = await sql.donation(self.pool, member_id, donation_id)
        assert d is not None
        return donated(d, 202) if d.status == "pending" else settled(d)

    async def year(self, member_id: str, year: int) -> DonationYear:
        start, end = year_bounds(year, self.zone)
        donations = await sql.of_period(self.pool, member_id, start, end)
        total = year_total(year, donations)
        return DonationYear(year=year, total_points=total.points, count=total.count,
                            items=[donation_view(d) for d in donations])
