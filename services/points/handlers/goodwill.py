"""Goodwill points for complaint recovery, asked for by staff (api.py), in the request's
unit of work: the rules (domain/goodwill.py) decide; an award under the approval threshold
is made at once, a larger one waits in goodwill_awards until another staff member with the
approver role approves it. Making an award is a `goodwill` transfer from
programme:goodwill to the member (referenced by the complaint), and points.goodwill-awarded
through the outbox in the same transaction.

Awards are taken one at a time (sql/goodwill.py `lock`), so the yearly limits hold however
many staff award at once; a complaint is awarded once (its reference is unique).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts.points.v1 import PointsGoodwillAwarded
from runtime.unit_of_work import UnitOfWork

from ..domain.earning import expires_on
from ..domain.goodwill import GoodwillPolicy, decide, may_decide
from ..domain.ledger import MemberLedger
from ..domain.rules import EarningRules
from ..sql import goodwill as sql
from ..sql import ledger

log = logging.getLogger(__name__)


class Refused(Exception):
    """Why the award cannot be made or decided: `code` (domain/goodwill.py's refusals,
    `unknown_member`, `no_such_award`)."""

    def __init__(self, code: str, award: asyncpg.Record | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.award = award


class Duplicate(Refused):
    """The complaint has an award already (`award`)."""

    def __init__(self, award: asyncpg.Record) -> None:
        super().__init__("duplicate_complaint", award)


@dataclass(frozen=True, slots=True)
class AwardRequest:
    member_id: str
    complaint_reference: str
    reason: str
    points: int
    note: str | None = None


class Goodwill:
    def __init__(self, policy: GoodwillPolicy, rules: EarningRules) -> None:
        self.policy = policy
        self.rules = rules  # the zone (the limits' year) and the points' expiry

    async def request(self, uow: UnitOfWork, request: AwardRequest, staff_id: str,
                      now: datetime) -> asyncpg.Record:
        """Make the award, or propose it when it is large. Raises Duplicate or Refused."""
        await sql.lock(uow.conn)
        if existing := await sql.by_complaint(uow.conn, request.complaint_reference):
            raise Duplicate(existing)
        member = await self._ledger(uow.conn, request.member_id)
        year = now.astimezone(self.rules.zone).year
        decision = decide(self.policy, request.reason, request.points, member.closed,
                          await sql.year_so_far(uow.conn, year, request.member_id))
        if decision.refusal:
            raise Refused(decision.refusal)
        award = await sql.insert(
            uow.conn, member_id=request.member_id,
            complaint_reference=request.complaint_reference, points=request.points,
            reason=request.reason, note=request.note, year=year, requested_by=staff_id,
            at=now, needs_approval=decision.needs_approval)
        if decision.needs_approval:
            log.info("goodwill award %d (%d points) requested by %s: waiting for approval",
                     award["id"], request.points, staff_id)
        else:
            await self._make(uow, award, member, now)
        return award

    async def approve(self, uow: UnitOfWork, award_id: int, approver: str,
                      now: datetime) -> asyncpg.Record:
        """Make a waiting award, checked again as it stands now (a closed member, limits
        lowered since). Raises Refused; the award stays pending then."""
        await sql.lock(uow.conn)
        award = await self._pending(uow.conn, award_id, approver)
        member = await self._ledger(uow.conn, award["member_id"])
        decision = decide(self.policy, award["reason"], award["points"], member.closed,
                          await sql.year_so_far(uow.conn, award["year"], award["member_id"],
                                                without=award_id))
        if decision.refusal:
            raise Refused(decision.refusal, award)
        award = await sql.decide(uow.conn, award_id, "awarded", approver, now)
        await self._make(uow, award, member, now)
        return award

    async def reject(self, conn: asyncpg.Connection, award_id: int, approver: str,
                     now: datetime) -> asyncpg.Record:
        await self._pending(conn, award_id, approver)
        log.info("goodwill award %d rejected by %s", award_id, approver)
        return await sql.decide(conn, award_id, "rejected", approver, now)

    async def _make(self, uow: UnitOfWork, award: asyncpg.Record, member: MemberLedger,
                    now: datetime) -> None:
        expiry = expires_on(now, self.rules)
        member.credit("goodwill", award["complaint_reference"], award["points"], expiry, now)
        await ledger.save(uow.conn, [member])
        uow.emit(PointsGoodwillAwarded(
            member_id=award["member_id"], award_id=str(award["id"]),
            complaint_reference=award["complaint_reference"], reason=award["reason"],
            points=award["points"], balance_after=member.balance, expires_on=expiry,
            awarded_at=now), key=("goodwill", award["id"]))
        log.info("goodwill award %d: %d points to member %s", award["id"], award["points"],
                 award["member_id"])

    async def _ledger(self, conn: asyncpg.Connection, member_id: str) -> MemberLedger:
        """The member's ledger, locked; a member the ledger has never seen gets nothing."""
        found = await ledger.load(conn, [member_id], open_missing=False)
        if member_id not in found:
            raise Refused("unknown_member")
        return found[member_id]

    @staticmethod
    async def _pending(conn: asyncpg.Connection, award_id: int,
                       approver: str) -> asyncpg.Record:
        award = await sql.locked(conn, award_id)
        if award is None:
            raise Refused("no_such_award")
        if refusal := may_decide(award["status"], award["requested_by"], approver):
            raise Refused(refusal, award)
        return award
