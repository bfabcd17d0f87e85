"""HTTP for the bank's app (member profile, tier with benefits and what the next tier needs,
tier history: the timeline as all the facts decide it) and for staff (the audited tier
override, handlers/tier_override.py; member lookup by mobile number). Reads answer from the
tables (sql/); the override runs in a unit of work of its own.

Authentication: the bank's API gateway sits in front and authenticates the app backend and
staff. The staff routes additionally require the bearer token STAFF_TOKEN and an
`X-Staff-Id` header, which is recorded in the override's audit. Mobile numbers and openids
are only ever returned masked.
"""

import hmac
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query
from pydantic import BaseModel, Field, SecretStr

from contracts.corebanking.v1 import ChinaMobile
from contracts.fields import CUSTOMER_ID_PATTERN
from contracts.tiers import Tier
from runtime.personal_data import Sealer, lookup_hash, mask_mobile, mask_openid
from runtime.unit_of_work import UnitOfWork

from .domain.programme import TierProgramme
from .domain.tiers import months_below
from .handlers import tier_override, utc_now
from .handlers.customers import sealing_context
from .handlers.tier_override import Outcome, UnknownMember
from .sql import members as members_sql
from .sql import snapshots as snapshots_sql
from .sql import tiers as tiers_sql
from .sql import timeline as timeline_sql

MemberIdPath = Annotated[str, Path(pattern=CUSTOMER_ID_PATTERN, examples=["C0012345678"])]


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
    until: date = Field(description="Last day (Asia/Shanghai) the override applies")
    reason: Annotated[str, Field(min_length=3, max_length=500)]


class OverrideResponse(BaseModel):
    member_id: str
    tier: Tier
    since: date
    asset_tier: Tier
    override: OverrideInForce | None
    changed: bool = Field(description="Whether the effective tier changed (and was announced)")


class LookupRequest(BaseModel):
    mobile: ChinaMobile


class LookupResponse(BaseModel):
    member_ids: list[str]


# ---------------------------------------------------------------------- routes


def routes(programme: TierProgramme, sealer: Sealer, hash_key: bytes,
           staff_token: SecretStr | None, pool: asyncpg.Pool,
           unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]]) -> APIRouter:
    router = APIRouter()

    def staff(authorization: Annotated[str | None, Header()] = None,
              x_staff_id: Annotated[str | None, Header(
                  pattern=r"^[A-Za-z0-9._@-]{1,64}$")] = None) -> str:
        """The staff member's id, once the token is right."""
        if staff_token is None:
            raise HTTPException(503, "staff endpoints are disabled: STAFF_TOKEN is not set")
        expected = f"Bearer {staff_token.get_secret_value()}".encode()
        if not hmac.compare_digest((authorization or "").encode(), expected):
            raise HTTPException(401, "bad or missing staff token",
                                headers={"WWW-Authenticate": "Bearer"})
        if not x_staff_id:
            raise HTTPException(400, "X-Staff-Id is required")
        return x_staff_id

    @router.get("/members/{member_id}", response_model=MemberProfile, tags=["app"])
    async def member_profile(member_id: MemberIdPath) -> MemberProfile:
        row = await members_sql.member_profile(pool, member_id)
        if row is None:
            raise HTTPException(404, "no such member")
        active = row["status"] == "active"
        openid = (sealer.open(sealing_context(member_id, "wechat_openid"), row["openid_enc"])
                  if row["openid_enc"] else None)
        mobile = (sealer.open(sealing_context(member_id, "mobile"), row["mobile_enc"])
                  if row["mobile_enc"] else None)
        return MemberProfile(
            member_id=member_id, status=row["status"], family_name=row["family_name"],
            gender=row["gender"], birth_date=row["birth_date"],
            preferred_language=row["preferred_language"],
            mobile_masked=mask_mobile(mobile) if mobile else None,
            wechat_bound=openid is not None,
            wechat_openid_masked=mask_openid(openid) if openid else None,
            consents=Consents(service_messages=row["service_messages"],
                              marketing=row["marketing"]) if active else None,
            enrolled_at=row["enrolled_at"], closed_at=row["closed_at"])

    @router.get("/members/{member_id}/tier", response_model=TierStatus, tags=["app"])
    async def tier_status(member_id: MemberIdPath) -> TierStatus:
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
    async def tier_history(member_id: MemberIdPath,
                           limit: Annotated[int, Query(ge=1, le=200)] = 50) -> TierHistory:
        rows = await timeline_sql.tier_history(pool, member_id, limit)
        if not rows and await members_sql.member_profile(pool, member_id) is None:
            raise HTTPException(404, "no such member")
        return TierHistory(member_id=member_id, changes=[
            TierHistoryEntry(old_tier=r["old_tier"], new_tier=r["new_tier"], reason=r["reason"],
                             effective_date=r["effective_date"], assets_month=r["assets_month"],
                             changed_at=r["changed_at"], staff_id=r["staff_id"])
            for r in rows])

    @router.post("/staff/members/{member_id}/tier-override", response_model=OverrideResponse,
                 status_code=201, tags=["staff"])
    async def set_override(member_id: MemberIdPath, body: OverrideRequest,
                           staff_id: Annotated[str, Depends(staff)]) -> OverrideResponse:
        """Set the member's tier from today until `until` (inclusive), audited with the
        staff id and reason; from the day after, assets decide again."""
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

    @router.delete("/staff/members/{member_id}/tier-override", response_model=OverrideResponse,
                   tags=["staff"])
    async def withdraw_override(member_id: MemberIdPath,
                                staff_id: Annotated[str, Depends(staff)]) -> OverrideResponse:
        """End the override today; assets decide again."""
        try:
            async with unit_of_work() as uow:
                outcome = await tier_override.withdraw_override(
                    uow, programme, member_id, staff_id, utc_now())
        except UnknownMember:
            raise HTTPException(404, "no such active member") from None
        except LookupError:
            raise HTTPException(404, "no override in force") from None
        return _override_response(member_id, outcome, None, staff_id)

    @router.post("/staff/members/lookup", response_model=LookupResponse, tags=["staff"])
    async def lookup(body: LookupRequest,
                     _staff_id: Annotated[str, Depends(staff)]) -> LookupResponse:
        """Find members by mobile number, through its keyed hash (a POST, so the number is
        never in a URL or an access log)."""
        ids = await members_sql.member_ids_by_mobile_hash(pool,
                                                          lookup_hash(hash_key, body.mobile))
        return LookupResponse(member_ids=ids)

    return router


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
