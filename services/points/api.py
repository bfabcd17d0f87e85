"""HTTP for the bank's app: a member's balance and history (OpenAPI at /docs); and for
staff, goodwill points for complaint recovery (handlers/goodwill.py) and their report, and
the campaigns (handlers/campaigns.py: add, change, end, their audit) with a preview of what
a sample purchase would earn under the rules in force.

Every app route needs the member's bearer token (runtime/auth.py), checked before anything
else; a member asking for another member's id gets the same 404 as for an unknown one.
Staff routes need an OIDC token with the staff role; the staff id is recorded in the
audit. Maker-checker: an award above GOODWILL_APPROVAL_ABOVE_POINTS is only proposed
(202); another staff member with the approver role approves or rejects it.
"""

import csv
import io
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.corebanking.v1 import PaymentChannel
from contracts.fields import CUSTOMER_ID_PATTERN, Mcc, PositiveCnyAmount
from contracts.tiers import Tier
from runtime.auth import MemberAuth, Staff, StaffAuth, authenticated_first
from runtime.unit_of_work import UnitOfWork

from .domain.campaigns import Refused as RefusedChange
from .domain.campaigns import status as campaign_status
from .domain.earning import Purchase, earn
from .domain.ledger import Kind
from .domain.rules import Campaign
from .handlers.campaigns import Campaigns
from .handlers.goodwill import AwardRequest, Goodwill, Refused
from .sql import campaigns as campaigns_sql
from .sql import goodwill as goodwill_sql
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
    reference: str = Field(description="Card transaction, refund, redemption, expiry date,"
                                       " or the complaint of a goodwill award.")
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


# ---------------------------------------------------------------------- goodwill (staff)

ComplaintReference = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$",
                                          examples=["CMP-2026-004512"])]


class GoodwillRequest(BaseModel):
    member_id: Annotated[str, Field(pattern=CUSTOMER_ID_PATTERN, examples=["C0000917364"])]
    complaint_reference: ComplaintReference = Field(
        description="The complaint the award settles: one award per complaint.")
    reason: Annotated[str, Field(max_length=40, examples=["service_failure"])] = Field(
        description="One of the configured reason codes (GOODWILL_REASONS).")
    points: Annotated[int, Field(ge=1, le=10_000_000)]
    note: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class GoodwillAward(BaseModel):
    """An award as audited: who asked and when, who approved or rejected it and when."""

    award_id: int
    member_id: str
    complaint_reference: str
    reason: str
    points: int
    note: str | None
    status: Literal["pending", "awarded", "rejected"]
    needs_approval: bool = Field(description="Above the threshold: a second staff member"
                                             " decides.")
    requested_by: str
    requested_at: datetime
    decided_by: str | None = Field(description="The approver (or who rejected it); none for"
                                               " an award under the threshold.")
    decided_at: datetime | None


class GoodwillAwards(BaseModel):
    awards: list[GoodwillAward]


class GoodwillReportLine(BaseModel):
    reason: str
    approver: str | None = Field(description="None: under the threshold, no approver.")
    awards: int
    points: int


class GoodwillReport(BaseModel):
    year: int
    made: list[GoodwillReportLine] = Field(description="Awards made, by reason and approver.")
    awards: int
    points: int
    pending: list[GoodwillReportLine] = Field(description="Awards waiting for approval.")


AwardId = Annotated[int, Path(ge=1, le=2**63 - 1)]

#: How each refusal answers: status and message.
_REFUSALS: dict[str, tuple[int, str]] = {
    "unknown_member": (404, "the ledger has no such member"),
    "no_such_award": (404, "no such goodwill award"),
    "member_closed": (409, "the member has closed their account: no goodwill points"),
    "duplicate_complaint": (409, "this complaint has a goodwill award already"),
    "already_decided": (409, "the award was decided already"),
    "own_award": (403, "an award is approved or rejected by another staff member"),
    "unknown_reason": (422, "not a configured goodwill reason code"),
    "over_award_limit": (422, "more points than one award may give"),
    "over_member_limit": (422, "more than the member's goodwill limit for the year"),
    "over_yearly_limit": (422, "more than the programme's goodwill limit for the year"),
}


def goodwill_routes(staff: StaffAuth, approver_role: str, goodwill: Goodwill,
                    unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]]
                    ) -> APIRouter:
    router = APIRouter(prefix="/staff/goodwill", tags=["staff"],
                       route_class=authenticated_first(staff))
    StaffMember = Annotated[Staff, Depends(staff)]
    Approver = Annotated[Staff, Depends(staff.requiring(approver_role))]

    @router.post("", response_model=GoodwillAward, status_code=201,
                 responses={202: {"model": GoodwillAward,
                                  "description": "Proposed: waits for an approver"}})
    async def award(body: GoodwillRequest, who: StaffMember):
        """Award goodwill points for a complaint: made at once (201), or above the approval
        threshold proposed (202) for another staff member to approve
        (`/staff/goodwill/{id}/approve`). A complaint is awarded once (409); a closed
        member gets nothing (409); limits and reason codes are configuration (422)."""
        try:
            async with unit_of_work() as uow:
                row = await goodwill.request(uow, AwardRequest(**body.model_dump()), who.id,
                                             datetime.now(UTC))
        except Refused as refused:
            raise _refused(refused) from None
        made = _award(row)
        if made.status == "pending":
            return JSONResponse(made.model_dump(mode="json"), status_code=202)
        return made

    @router.get("/pending", response_model=GoodwillAwards)
    async def pending(_who: Approver, request: Request,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50) -> GoodwillAwards:
        """Awards waiting for a second staff member, oldest first."""
        rows = await goodwill_sql.pending(request.app.state.pool(), limit)
        return GoodwillAwards(awards=[_award(r) for r in rows])

    @router.post("/{award_id}/approve", response_model=GoodwillAward)
    async def approve(award_id: AwardId, who: Approver) -> GoodwillAward:
        """Make a waiting award: by an approver who did not ask for it, checked again
        against the member and the limits as they are now."""
        try:
            async with unit_of_work() as uow:
                return _award(await goodwill.approve(uow, award_id, who.id,
                                                     datetime.now(UTC)))
        except Refused as refused:
            raise _refused(refused) from None

    @router.post("/{award_id}/reject", response_model=GoodwillAward)
    async def reject(award_id: AwardId, who: Approver, request: Request) -> GoodwillAward:
        try:
            async with request.app.state.pool().acquire() as conn, conn.transaction():
                return _award(await goodwill.reject(conn, award_id, who.id,
                                                    datetime.now(UTC)))
        except Refused as refused:
            raise _refused(refused) from None

    @router.get("/report", response_model=GoodwillReport,
                responses={200: {"content": {"text/csv": {}}}})
    async def report(_who: StaffMember, request: Request,
                     year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                     format: Literal["json", "csv"] = "json"):
        """The year's awards (Asia/Shanghai; default this year) by reason and approver,
        with those waiting for approval; `format=csv` for a spreadsheet."""
        year = year or datetime.now(request.app.state.zone).year
        rows = await goodwill_sql.report(request.app.state.pool(), year)
        lines = {status: [GoodwillReportLine(reason=r["reason"], approver=r["approver"],
                                             awards=r["awards"], points=r["points"])
                          for r in rows if r["status"] == status]
                 for status in ("awarded", "pending")}
        if format == "csv":
            return PlainTextResponse(_csv(year, lines), media_type="text/csv", headers={
                "Content-Disposition": f'attachment; filename="goodwill-{year}.csv"'})
        made = lines["awarded"]
        return GoodwillReport(year=year, made=made, awards=sum(m.awards for m in made),
                              points=sum(m.points for m in made), pending=lines["pending"])

    return router


def _csv(year: int, lines: dict[str, list[GoodwillReportLine]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["year", "status", "reason", "approver", "awards", "points"])
    for status, rows in lines.items():
        for r in rows:
            writer.writerow([year, status, r.reason, r.approver or "", r.awards, r.points])
    return out.getvalue()


def _refused(refused: Refused) -> HTTPException:
    status, message = _REFUSALS[refused.code]
    if refused.award is not None:
        message += f" (award {refused.award['id']}, {refused.award['status']})"
    return HTTPException(status, {"code": refused.code, "message": message})


def _award(row: asyncpg.Record) -> GoodwillAward:
    return GoodwillAward(award_id=row["id"], **{k: row[k] for k in GoodwillAward.model_fields
                                                if k != "award_id"})


# ---------------------------------------------------------------------- campaigns (staff)

CampaignIdPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9.-]{0,63}$",
                                     examples=["double-11-2026"])]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewCampaign(_Strict):
    """Multipliers are strings (exact decimals); times carry their UTC offset. Checked with
    the whole programme (domain/rules.py) before it is stored."""

    id: str = Field(examples=["double-11-2026"])
    starts_at: AwareDatetime | None = Field(default=None,
                                            description="Now if left out; never in the past.")
    ends_at: AwareDatetime = Field(description="Exclusive.")
    multiplier: str = Field(examples=["2"], description="Applied on top of category x tier.")
    weekdays: list[int] | None = Field(default=None, description="ISO, 1 = Monday; "
                                       "Asia/Shanghai. None: every day.")
    mccs: list[str] | None = Field(default=None, examples=[["5812", "3501-3999"]],
                                   description="MCCs or ranges. None: every MCC.")
    channels: list[str] | None = Field(default=None, examples=[["card"]],
                                       description="Payment channels. None: any.")
    enabled: bool = True


class CampaignChange(_Strict):
    """The fields to change; once a campaign has started only `ends_at` may."""

    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    multiplier: str | None = None
    weekdays: list[int] | None = None
    mccs: list[str] | None = None
    channels: list[str] | None = None
    enabled: bool | None = None


class CampaignView(BaseModel):
    id: str
    status: Literal["scheduled", "running", "ended", "off"]
    starts_at: datetime
    ends_at: datetime
    multiplier: Decimal
    weekdays: list[int] | None
    mccs: list[str] | None
    channels: list[str] | None
    enabled: bool


class CampaignList(BaseModel):
    version: int = Field(description="Bumped by every change; instances rate with it from"
                                     " their next batch.")
    campaigns: list[CampaignView]


class CampaignMade(BaseModel):
    version: int
    campaign: CampaignView


class CampaignAudit(BaseModel):
    id: int
    version: int
    campaign_id: str
    action: Literal["seeded", "added", "changed", "ended"]
    staff_id: str
    changed_at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any]


class CampaignAudits(BaseModel):
    changes: list[CampaignAudit]
    next_cursor: int | None = Field(description="Pass as `before` for the next (older) page.")


class PreviewRequest(_Strict):
    """A sample purchase."""

    tier: Tier
    mcc: Mcc = Field(examples=["5812"])
    amount_cny: PositiveCnyAmount = Field(examples=["468.00"])
    at: AwareDatetime | None = Field(default=None, description="When posted; now if left out.")
    channel: PaymentChannel | None = Field(default=None, examples=["alipay"])
    bonus_used_this_month: int = Field(default=0, ge=0, description="The member's bonus points"
                                       " of the month so far (the monthly cap).")


class Preview(BaseModel):
    points: int
    base_points: int = Field(description="Outside the monthly bonus cap.")
    bonus_points: int = Field(description="Counted against the monthly bonus cap.")
    multiplier: Decimal
    tier: Tier
    rule_ids: list[str]
    caps_applied: list[str]
    expires_on: date
    campaigns_version: int


def campaign_routes(staff: StaffAuth, campaigns: Campaigns, pool: Callable[[], asyncpg.Pool]
                    ) -> APIRouter:
    router = APIRouter(prefix="/staff", tags=["staff"], route_class=authenticated_first(staff))
    StaffMember = Annotated[Staff, Depends(staff)]

    @router.get("/campaigns", response_model=CampaignList)
    async def list_campaigns(_who: StaffMember) -> CampaignList:
        """The campaigns stored now (the programme file's starting set among them)."""
        async with pool().acquire() as conn:
            version, stored = await campaigns_sql.current(conn)
        now = datetime.now(UTC)
        return CampaignList(version=version, campaigns=[_view(c, now) for c in stored])

    @router.post("/campaigns", response_model=CampaignMade, status_code=201)
    async def add_campaign(body: NewCampaign, who: StaffMember) -> CampaignMade:
        """Add a campaign, in force on every instance from its next batch. 409 if the id
        exists; 422 if it starts in the past or does not fit the programme."""
        try:
            made = await campaigns.add(who.id, body.model_dump(exclude_none=True))
        except RefusedChange as refused:
            raise _refused_change(refused) from None
        return _made(made)

    @router.patch("/campaigns/{campaign_id}", response_model=CampaignMade)
    async def change_campaign(campaign_id: CampaignIdPath, body: CampaignChange,
                              who: StaffMember) -> CampaignMade:
        """Change a campaign: anything before it starts, only its end once it has (409)."""
        try:
            made = await campaigns.change(who.id, campaign_id, body.model_dump(
                exclude_unset=True))
        except RefusedChange as refused:
            raise _refused_change(refused) from None
        return _made(made)

    @router.post("/campaigns/{campaign_id}/end", response_model=CampaignMade)
    async def end_campaign(campaign_id: CampaignIdPath, who: StaffMember) -> CampaignMade:
        """End a running campaign now (one not started yet is switched off)."""
        try:
            made = await campaigns.end(who.id, campaign_id)
        except RefusedChange as refused:
            raise _refused_change(refused) from None
        return _made(made)

    @router.get("/campaigns/changes", response_model=CampaignAudits)
    async def campaign_changes(
            _who: StaffMember, campaign_id: Annotated[str | None, Query()] = None,
            limit: Annotated[int, Query(ge=1, le=200)] = 50,
            before: Annotated[int | None, Query(ge=1, le=MAX_CURSOR)] = None
    ) -> CampaignAudits:
        """Who changed which campaign when, from what to what; newest first."""
        async with pool().acquire() as conn:
            rows = await campaigns_sql.changes(conn, campaign_id, before, limit + 1)
        page = rows[:limit]
        return CampaignAudits(
            changes=[CampaignAudit(**{**dict(r), "before": r["before"] and json.loads(
                r["before"]), "after": json.loads(r["after"])}) for r in page],
            next_cursor=page[-1]["id"] if len(rows) > limit else None)

    @router.post("/earning/preview", response_model=Preview)
    async def preview(body: PreviewRequest, _who: StaffMember) -> Preview:
        """What a sample purchase would earn under the rules in force now (campaigns
        included), with the calculation, as points.earned would carry it."""
        async with pool().acquire() as conn:
            rules = await campaigns.current.load(conn)
        sample = Purchase("preview", "preview", body.mcc, body.amount_cny,
                          body.at or datetime.now(UTC), body.channel)
        e = earn(sample, body.tier, body.bonus_used_this_month, rules)
        return Preview(points=e.points, base_points=e.base, bonus_points=e.bonus,
                       multiplier=e.multiplier, tier=e.tier, rule_ids=list(e.rule_ids),
                       caps_applied=list(e.caps_applied), expires_on=e.expires_on,
                       campaigns_version=campaigns.current.version or 0)

    return router


def _made(made: tuple[Campaign, int]) -> CampaignMade:
    campaign, version = made
    return CampaignMade(version=version, campaign=_view(campaign, datetime.now(UTC)))


def _view(campaign: Campaign, now: datetime) -> CampaignView:
    stored = json.loads(campaigns_sql.to_json(campaign))
    return CampaignView(**{k: stored[k] for k in CampaignView.model_fields if k != "status"},
                        status=campaign_status(campaign, now))


def _refused_change(refused: RefusedChange) -> HTTPException:
    return HTTPException(refused.status, {"code": refused.code, "message": refused.message})
