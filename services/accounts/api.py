"""HTTP for the bank's app (member profile, tier with benefits and what the next tier needs,
tier history: the timeline as all the facts decide it) and for staff (the audited tier
override, handlers/tier_override.py; member lookup by mobile number; the preview of the
next tier review, handlers/reviews.py). Reads answer from the tables (sql/); the override
runs in a unit of work of its own.

Authentication (runtime/auth.py), checked before a body is read: the app routes need the
member's token, and a member asking for another member's id gets the same 404 as for an
unknown one; the staff routes need an OIDC token of the bank's identity provider with the
staff role, whose staff id is recorded in the audit. Maker-checker: an override moving the
member more than TIER_OVERRIDE_APPROVAL_ABOVE_STEPS tiers from their tier now is only
proposed (202); another staff member with the approver role approves it
(handlers/staff_changes.py), and the override records both. Mobile numbers and openids are
only ever returned masked.
"""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from contracts.corebanking.v1 import ChinaMobile
from contracts.fields import CUSTOMER_ID_PATTERN
from contracts.tiers import Tier
from runtime.auth import MemberAuth, Staff, StaffAuth, authenticated_first
from runtime.personal_data import Sealer, lookup_hash, mask_mobile, mask_openid
from runtime.unit_of_work import UnitOfWork

from .domain.approvals import needs_second_approver
from .domain.programme import TierProgramme
from .domain.tiers import months_below
from .handlers import reviews, staff_changes, tier_override, utc_now
from .handlers.tier_override import Outcome, UnknownMember
from .personal import open_personal, sealing_context
from .sql import members as members_sql
from .sql import snapshots as snapshots_sql
from .sql import staff_changes as changes_sql
from .sql import tiers as tiers_sql
from .sql import timeline as timeline_sql

MemberIdPath = Annotated[str, Path(pattern=CUSTOMER_ID_PATTERN, examples=["C0012345678"])]
ChangeIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]


# ---------------------------------------------------------------------- response models


class Consents(BaseModel):
    service_messages: bool
    marketing: bool


class MemberProfile(BaseModel):
    member_id: str
    status: Literal["active", "closed"]
    family_name: str | None
    gender: Literal["male", "female", "unknown"] | None
    birth_date: date | None
    preferred_language: Literal["zh-CN", "en-US"] | None
    mobile_masked: str | None = Field(description="e.g. 138****1234; never the full number")
    wechat_bound: bool
    wechat_openid_masked: str | None
    consents: Consents | None
    enrolled_at: datetime | None
    closed_at: datetime | None


class Benefits(BaseModel):
    lounge_visits_per_year: int | None = Field(description="None means unlimited")
    lounge_visits_unlimited: bool
    points_multiplier: Decimal


class Assets(BaseModel):
    month: str
    average_daily_assets: Decimal


class NextTier(BaseModel):
    tier: Tier
    min_assets: Decimal
    assets_needed: Decimal = Field(description="What the latest month lacked; 0 if reached")


class Grace(BaseModel):
    months_below: int = Field(description="Consecutive latest months below the asset tier")
    downgrade_after_months: int


class OverrideInForce(BaseModel):
    tier: Tier
    until: date
    reason: str | None = None
    staff_id: str | None = None


class TierStatus(BaseModel):
    member_id: str
    tier: Tier
    name: str
    name_zh: str
    since: date
    benefits: Benefits
    asset_tier: Tier
    latest_assets: Assets | None
    next_tier: NextTier | None
    grace: Grace
    override: OverrideInForce | None


class TierHistoryEntry(BaseModel):
    """One change of the member's timeline, as the facts known now decide it (the same
    whatever order they arrived in)."""

    old_tier: Tier
    new_tier: Tier
    reason: Literal["assets_qualified", "assets_below", "manual_override", "override_ended"]
    effective_date: date
    assets_month: str | None
    changed_at: datetime = Field(description="When this day's tier was last announced")
    staff_id: str | None = Field(description="Who set the override, for manual changes")


class TierHistory(BaseModel):
    member_id: str
    changes: list[TierHistoryEntry]


class OverrideRequest(BaseModel):
    tier: Tier
    # Bounded: the day after the last is computed (date.max has none).
    until: date = Field(lt=date(2100, 1, 1),
                        description="Last day (Asia/Shanghai) the override applies")
    reason: Annotated[str, Field(min_length=3, max_length=500)]


class OverrideResponse(BaseModel):
    member_id: str
    tier: Tier
    since: date
    asset_tier: Tier
    override: OverrideInForce | None
    changed: bool = Field(description="Whether the effective tier changed (and was announced)")


class StaffChange(BaseModel):
    """A change waiting for, or decided by, a second staff member (maker-checker)."""

    change_id: int
    kind: Literal["tier_override"]
    member_id: str
    request: OverrideRequest
    proposed_by: str
    proposed_at: datetime
    status: Literal["pending", "approved", "rejected"]
    decided_by: str | None
    decided_at: datetime | None


class StaffChanges(BaseModel):
    changes: list[StaffChange]


class ApprovedChange(BaseModel):
    change: StaffChange
    outcome: OverrideResponse


class ReviewMove(BaseModel):
    """A member the next review would move, and why."""

    member_id: str
    old_tier: Tier
    new_tier: Tier
    reason: Literal["assets_qualified", "assets_below"]
    effective_date: date
    assets: Decimal = Field(description="Compared with the thresholds: the window's average"
                            " daily assets (yearly), the newest month's (monthly)")
    months: list[str] = Field(description="The months that decide: the window's months"
                              " present (yearly), the run of months below (monthly)")
    complete: bool = Field(description="Whether every month of the window is in")
    assumed_month: str | None = Field(
        description="Monthly cadence: the next month, assumed like the newest")
    override_until: date | None = Field(
        description="An override in force: the member keeps its tier until then")


class TierChangeCount(BaseModel):
    old_tier: Tier
    new_tier: Tier
    members: int


class ReviewPreview(BaseModel):
    cadence: Literal["monthly", "yearly"]
    review_date: date | None = Field(description="The next review (yearly cadence)")
    kind: Literal["assessment", "adjustment"] | None
    runs_on: date | None = Field(description="When the job runs it")
    members: int = Field(description="Active members looked at")
    moving: int
    by_change: list[TierChangeCount]
    moves: list[ReviewMove] = Field(description="By member id, after `after`")
    next_after: str | None = Field(description="`after` of the next page; None: the last")


class LookupRequest(BaseModel):
    mobile: ChinaMobile


class LookupResponse(BaseModel):
    member_ids: list[str]


# ---------------------------------------------------------------------- routes


def routes(programme: TierProgramme, sealer: Sealer, hash_key: bytes, members: MemberAuth,
           staff: StaffAuth, approver_role: str, approval_above_steps: int,
           pool: asyncpg.Pool,
           unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]]) -> APIRouter:
    router = APIRouter(route_class=authenticated_first(members))
    staff_router = APIRouter(route_class=authenticated_first(staff))
    Member = Annotated[str, Depends(members)]
    StaffMember = Annotated[Staff, Depends(staff)]
    Approver = Annotated[Staff, Depends(staff.requiring(approver_role))]

    @router.get("/members/{member_id}", response_model=MemberProfile, tags=["app"])
    async def member_profile(member_id: MemberIdPath, caller: Member) -> MemberProfile:
        _own(member_id, caller, "no such member")
        row = await members_sql.member_profile(pool, member_id)
        if row is None:
            raise HTTPException(404, "no such member")
        active = row["status"] == "active"
        openid = (sealer.open(sealing_context(member_id, "wechat_openid"), row["openid_enc"])
                  if row["openid_enc"] else None)
        mobile = (sealer.open(sealing_context(member_id, "mobile"), row["mobile_enc"])
                  if row["mobile_enc"] else None)
        personal = open_personal(sealer, member_id, row)
        return MemberProfile(
            member_id=member_id, status=row["status"],
            family_name=personal and personal.family_name,
            gender=personal and personal.gender, birth_date=personal and personal.birth_date,
            preferred_language=row["preferred_language"],
            mobile_masked=mask_mobile(mobile) if mobile else None,
            wechat_bound=openid is not None,
            wechat_openid_masked=mask_openid(openid) if openid else None,
            consents=Consents(service_messages=row["service_messages"],
                              marketing=row["marketing"]) if active else None,
            enrolled_at=row["enrolled_at"], closed_at=row["closed_at"])

    @router.get("/members/{member_id}/tier", response_model=TierStatus, tags=["app"])
    async def tier_status(member_id: MemberIdPath, caller: Member) -> TierStatus:
        _own(member_id, caller, "no such active member")
        async with pool.acquire() as conn:
            row = await tiers_sql.tier_row(conn, member_id)
            if row is None or row["status"] != "active":
                raise HTTPException(404, "no such active member")
            history = (await snapshots_sql.asset_histories(conn, [member_id])).get(member_id, {})
            state = (await tiers_sql.tier_states(conn, [member_id]))[member_id]
        rule = programme.tiers[state.tier]
        latest = None
        if history:
            month = max(history)
            latest = Assets(month=month, average_daily_assets=history[month])
        above = programme.next_above(state.tier)
        next_tier = None
        if above:
            have = latest.average_daily_assets if latest else Decimal(0)
            next_tier = NextTier(tier=above.tier, min_assets=above.min_assets,
                                 assets_needed=max(Decimal(0), above.min_assets - have))
        override = None
        if state.override:
            override = OverrideInForce(tier=state.override.tier, until=state.override.until,
                                       reason=row["override_reason"],
                                       staff_id=row["override_staff_id"])
        return TierStatus(
            member_id=member_id, tier=state.tier, name=rule.name, name_zh=rule.name_zh,
            since=state.since,
            benefits=Benefits(lounge_visits_per_year=rule.lounge_visits,
                              lounge_visits_unlimited=rule.lounge_visits is None,
                              points_multiplier=rule.points_multiplier),
            asset_tier=state.asset_tier, latest_assets=latest, next_tier=next_tier,
            grace=Grace(months_below=months_below(state, history, programme),
                        downgrade_after_months=programme.downgrade_after_months),
            override=override)

    @router.get("/members/{member_id}/tier/history", response_model=TierHistory, tags=["app"])
    async def tier_history(member_id: MemberIdPath, caller: Member,
                           limit: Annotated[int, Query(ge=1, le=200)] = 50) -> TierHistory:
        _own(member_id, caller, "no such member")
        rows = await timeline_sql.tier_history(pool, member_id, limit)
        if not rows and await members_sql.member_profile(pool, member_id) is None:
            raise HTTPException(404, "no such member")
        return TierHistory(member_id=member_id, changes=[
            TierHistoryEntry(old_tier=r["old_tier"], new_tier=r["new_tier"], reason=r["reason"],
                             effective_date=r["effective_date"], assets_month=r["assets_month"],
                             changed_at=r["changed_at"], staff_id=r["staff_id"])
            for r in rows])

    @staff_router.post("/staff/members/{member_id}/tier-override",
                       response_model=OverrideResponse, status_code=201, tags=["staff"],
                       responses={202: {"model": StaffChange,
                                        "description": "Proposed: waits for an approver"}})
    async def set_override(member_id: MemberIdPath, body: OverrideRequest,
                           who: StaffMember):
        """Set the member's tier from today until `until` (inclusive), audited with the
        staff id and reason; from the day after, assets decide again. An override moving
        the member more than the configured number of tiers is only proposed (202): another
        staff member approves it (`/staff/changes/{id}/approve`)."""
        staff_id = who.id
        async with pool.acquire() as conn:
            row = await tiers_sql.tier_row(conn, member_id)
            if row is None or row["status"] != "active":
                raise HTTPException(404, "no such active member")
            if needs_second_approver(row["tier"], body.tier, approval_above_steps):
                change = await staff_changes.propose_override(
                    conn, member_id, body.tier, body.until, body.reason, staff_id)
                return JSONResponse(_change(change).model_dump(mode="json"), status_code=202)
        try:
            async with unit_of_work() as uow:
                outcome = await tier_override.set_override(
                    uow, programme, member_id, body.tier, body.until, body.reason, staff_id,
                    utc_now())
        except UnknownMember:
            raise HTTPException(404, "no such active member") from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return _override_response(member_id, outcome, body.reason, staff_id)

    @staff_router.delete("/staff/members/{member_id}/tier-override",
                         response_model=OverrideResponse, tags=["staff"])
    async def withdraw_override(member_id: MemberIdPath, who: StaffMember) -> OverrideResponse:
        """End the override today; assets decide again (no second approver: the member
        goes back to what the programme's rules give them)."""
        staff_id = who.id
        try:
            async with unit_of_work() as uow:
                outcome = await tier_override.withdraw_override(
                    uow, programme, member_id, staff_id, utc_now())
        except UnknownMember:
            raise HTTPException(404, "no such active member") from None
        except LookupError:
            raise HTTPException(404, "no override in force") from None
        return _override_response(member_id, outcome, None, staff_id)

    @staff_router.get("/staff/tier-reviews/next", response_model=ReviewPreview,
                      tags=["staff"])
    async def review_preview(
            _who: StaffMember,
            after: Annotated[str, Query(max_length=40)] = "",
            limit: Annotated[int, Query(ge=1, le=500)] = 100) -> ReviewPreview:
        """Who the next tier review would move, and why, before it runs (read-only):
        counts over every active member, the moves listed by member id from `after`."""
        found = await reviews.preview(pool, programme, programme.day_of(utc_now()), after,
                                      limit)
        review, rule = found.review, programme.review
        return ReviewPreview(
            cadence=rule.cadence, review_date=review and review.on,
            kind=review and review.kind,
            runs_on=review and review.on + timedelta(days=rule.run_after_days),
            members=found.members, moving=sum(found.counts.values()),
            by_change=[TierChangeCount(old_tier=old, new_tier=new, members=n)
                       for (old, new), n in sorted(found.counts.items())],
            moves=[ReviewMove(member_id=m, old_tier=move.old_tier, new_tier=move.new_tier,
                              reason=move.reason, effective_date=move.effective_date,
                              assets=move.assets, months=list(move.months),
                              complete=move.complete, assumed_month=move.assumed_month,
                              override_until=override and override.until)
                   for m, move, override in found.moves],
            next_after=found.next_after)

    @staff_router.post("/staff/members/lookup", response_model=LookupResponse, tags=["staff"])
    async def lookup(body: LookupRequest, _who: StaffMember) -> LookupResponse:
        """Find members by mobile number, through its keyed hash (a POST, so the number is
        never in a URL or an access log)."""
        ids = await members_sql.member_ids_by_mobile_hash(pool,
                                                          lookup_hash(hash_key, body.mobile))
        return LookupResponse(member_ids=ids)

    @staff_router.get("/staff/changes", response_model=StaffChanges, tags=["staff"])
    async def pending_changes(_who: Approver,
                              limit: Annotated[int, Query(ge=1, le=200)] = 50) -> StaffChanges:
        """Changes waiting for a second approver, oldest first."""
        return StaffChanges(changes=[_change(r) for r in await changes_sql.pending(pool, limit)])

    @staff_router.post("/staff/changes/{change_id}/approve", response_model=ApprovedChange,
                       tags=["staff"])
    async def approve_change(change_id: ChangeIdPath, who: Approver) -> ApprovedChange:
        """Apply a proposed change: by a staff member with the approver role who did not
        propose it. The override records both."""
        try:
            async with unit_of_work() as uow:
                change, outcome = await staff_changes.approve(uow, programme, change_id,
                                                              who.id, utc_now())
        except UnknownMember:
            raise HTTPException(404, "no such active member") from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        except staff_changes.Refusal as exc:
            raise _refused(exc) from None
        decided = _change(change)
        return ApprovedChange(change=decided, outcome=_override_response(
            decided.member_id, outcome, decided.request.reason, decided.proposed_by))

    @staff_router.post("/staff/changes/{change_id}/reject", response_model=StaffChange,
                       tags=["staff"])
    async def reject_change(change_id: ChangeIdPath, who: Approver) -> StaffChange:
        try:
            async with pool.acquire() as conn, conn.transaction():
                return _change(await staff_changes.reject(conn, change_id, who.id))
        except staff_changes.Refusal as exc:
            raise _refused(exc) from None

    router.include_router(staff_router)
    return router


def _own(member_id: str, caller: str, not_found: str) -> None:
    """Another member's data is as absent as an unknown member's: the route's own 404."""
    if member_id != caller:
        raise HTTPException(404, not_found)


def _refused(exc: staff_changes.Refusal) -> HTTPException:
    if isinstance(exc, staff_changes.OwnChange):
        return HTTPException(403, {"code": "own_change", "message":
                                   "a change is approved or rejected by another staff member"})
    if isinstance(exc, staff_changes.AlreadyDecided):
        return HTTPException(409, {"code": "already_decided", "message": f"already {exc}"})
    return HTTPException(404, "no such staff change")


def _change(row: asyncpg.Record) -> StaffChange:
    return StaffChange(change_id=row["id"], kind=row["kind"], member_id=row["member_id"],
                       request=OverrideRequest.model_validate_json(row["request"]),
                       proposed_by=row["proposed_by"], proposed_at=row["proposed_at"],
                       status=row["status"], decided_by=row["decided_by"],
                       decided_at=row["decided_at"])


def _override_response(member_id: str, outcome: Outcome, reason: str | None,
                       staff_id: str) -> OverrideResponse:
    state = outcome.state
    override = None
    if state.override:
        override = OverrideInForce(tier=state.override.tier, until=state.override.until,
                                   reason=reason, staff_id=staff_id)
    return OverrideResponse(member_id=member_id, tier=state.tier, since=state.since,
                            asset_tier=state.asset_tier, override=override,
                            changed=outcome.changed)
