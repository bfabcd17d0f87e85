"""HTTP for the bank's app: a member's balance and history (OpenAPI at /docs).

Every route needs the member's bearer token (runtime/auth.py), checked before anything
else; a member asking for another member's id gets the same 404 as for an unknown one.
"""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from contracts.fields import CUSTOMER_ID_PATTERN
from runtime.auth import MemberAuth, authenticated_first

from .domain.ledger import Kind
from .sql import queries

MemberId = Annotated[str, Path(pattern=CUSTOMER_ID_PATTERN, examples=["C0000917364"])]


class ExpiringNext(BaseModel):
    points: int
    on: date = Field(description="The points expire at the end of this day (Asia/Shanghai).")


class Balance(BaseModel):
    member_id: str
    balance: int = Field(description="All points; negative only after refunds of spent points.")
    available: int = Field(description="Points that may be redeemed now.")
    expiring_next: ExpiringNext | None
    closed: bool


class Entry(BaseModel):
    kind: Kind
    reference: str = Field(description="Card transaction, refund, redemption or expiry date.")
    points: int = Field(description="> 0 credited, < 0 debited.")
    occurred_at: datetime
    recorded_at: datetime


class History(BaseModel):
    entries: list[Entry]
    next_cursor: int | None = Field(description="Pass as `before` for the next (older) page.")


def _today(request: Request) -> date:
    return datetime.now(request.app.state.zone).date()


def routes(members: MemberAuth) -> APIRouter:
    router = APIRouter(prefix="/v1/members/{member_id}", tags=["members"],
                       route_class=authenticated_first(members))
    Caller = Annotated[str, Depends(members)]

    @router.get("/balance", response_model=Balance)
    async def get_balance(member_id: MemberId, caller: Caller, request: Request) -> Balance:
        _own(member_id, caller)
        async with request.app.state.pool().acquire() as conn:
            row = await queries.balance(conn, member_id, _today(request))
        if row is None:
            raise _unknown()
        nxt = (ExpiringNext(points=row["next_points"], on=row["next_on"])
               if row["next_on"] else None)
        return Balance(member_id=member_id, balance=row["balance"],
                       available=row["available"], expiring_next=nxt,
                       closed=row["closed_at"] is not None)

    @router.get("/history", response_model=History)
    async def get_history(member_id: MemberId, caller: Caller, request: Request,
                          limit: Annotated[int, Query(ge=1, le=200)] = 50,
                          before: Annotated[int | None, Query(ge=1, le=MAX_CURSOR)] = None
                          ) -> History:
        _own(member_id, caller)
        async with request.app.state.pool().acquire() as conn:
            rows = await queries.history(conn, member_id, before, limit + 1)
        page = rows[:limit]
        return History(entries=[Entry(**{k: r[k] for k in Entry.model_fields}) for r in page],
                       next_cursor=page[-1]["id"] if len(rows) > limit else None)

    return router


#: Cursors are ledger ids (bigint).
MAX_CURSOR = 2**63 - 1


def _own(member_id: str, caller: str) -> None:
    """Another member's data is as absent as an unknown member's."""
    if member_id != caller:
        raise _unknown()


def _unknown() -> HTTPException:
    return HTTPException(404, {"code": "unknown_member",
                               "message": "the ledger has no such member"})
