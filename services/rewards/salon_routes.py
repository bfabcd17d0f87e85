"""The HTTP routes of member events ("salons"; docs/salons.md), beside api.py's.

Staff (an OIDC token with SALONS_ROLE, `loyalty-events` by default):
    POST  /v1/staff/salons                     schedule one (201; 409 salon_exists)
    PATCH /v1/staff/salons/{id}                change it (404, 409 salon_cancelled, 422)
    POST  /v1/staff/salons/{id}/cancel         cancel it (final; guests hear it)
    GET   /v1/staff/salons/{id}/changes        the audit: who changed what, when, why
    POST  /v1/staff/salons/{id}/check-ins      the host checks a guest in with their code
The bank's app (the member's token; another member's id is 404):
    GET   /v1/app/members/{member_id}/salons               what the member may join
    POST  /v1/app/members/{member_id}/salons/{id}/rsvp     accept or decline
"""

import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from contracts.tiers import Tier
from runtime.auth import MemberAuth, Staff, StaffAuth, authenticated_first

from .domain.salons import Salon, SalonError, as_json
from .handlers.salons import Salons
from .schemas import Error
from .sql import salons as sql

SALON_ID = r"^sal_[a-z0-9_]{1,60}$"
SalonIdPath = Annotated[str, Path(pattern=SALON_ID)]
MemberIdPath = Annotated[str, Path(pattern=r"^C[0-9]{10}$")]
Text = Annotated[str, Field(min_length=1, max_length=64)]
_ERRORS = {status: {"model": Error} for status in (401, 403, 404, 409, 422)}


class _SalonFields(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


class SalonCreate(_SalonFields):
    id: Annotated[str, Field(pattern=SALON_ID)]
    title: Text
    title_en: Text | None = None
    category: Annotated[str, Field(pattern=r"^[a-z][a-z_]{1,31}$",
                                   examples=["health", "cars", "collecting", "wealth"])]
    city: Text
    venue: Text
    starts_at: AwareDatetime
    capacity: Annotated[int, Field(ge=1, le=10_000)]
    eligible_tiers: Annotated[list[Tier], Field(min_length=1)]
    invite_from: AwareDatetime
    invite_until: AwareDatetime
    rsvp_from: AwareDatetime
    rsvp_until: AwareDatetime


class SalonChange(_SalonFields):
    title: Text | None = None
    title_en: Text | None = None
    category: Annotated[str | None, Field(pattern=r"^[a-z][a-z_]{1,31}$")] = None
    city: Text | None = None
    venue: Text | None = None
    starts_at: AwareDatetime | None = None
    capacity: Annotated[int | None, Field(ge=1, le=10_000)] = None
    eligible_tiers: Annotated[list[Tier] | None, Field(min_length=1)] = None
    invite_from: AwareDatetime | None = None
    invite_until: AwareDatetime | None = None
    rsvp_from: AwareDatetime | None = None
    rsvp_until: AwareDatetime | None = None


class SalonView(BaseModel):
    id: str
    title: str
    title_en: str | None
    category: str
    city: str
    venue: str
    starts_at: datetime
    capacity: int
    eligible_tiers: list[Tier]
    invite_from: datetime
    invite_until: datetime
    rsvp_from: datetime
    rsvp_until: datetime
    status: Literal["scheduled", "cancelled"]
    version: int = Field(description="1 when scheduled, one more each change.")
    accepted: int = Field(description="Seats taken.")
    reminded: bool


class CheckIn(BaseModel):
    code: Annotated[str, Field(min_length=1, max_length=32)]


class CheckedIn(BaseModel):
    member_id: str


class Rsvp(BaseModel):
    answer: Literal["accept", "decline"]


class Place(BaseModel):
    salon_id: str
    status: Literal["invited", "accepted", "waitlisted", "declined"]
    check_in_code: str | None = Field(description="Shown at the door (accepted only);"
                                      " single use.")


class MemberSalon(BaseModel):
    id: str
    title: str
    title_en: str | None
    category: str
    city: str
    venue: str
    starts_at: datetime
    rsvp_until: datetime
    seats_left: int
    status: Literal["not_invited", "invited", "accepted", "waitlisted", "declined"]
    check_in_code: str | None
    checked_in: bool


def salons_router(salons: Salons, members: MemberAuth, staff: StaffAuth,
                  role: str) -> APIRouter:
    api = APIRouter(prefix="/v1", responses=_ERRORS)
    staff_api = APIRouter(route_class=authenticated_first(staff), tags=["staff"])
    Host = Annotated[Staff, Depends(staff.requiring(role))]

    @staff_api.post("/staff/salons", status_code=201, response_model=SalonView)
    async def schedule(body: SalonCreate, who: Host) -> JSONResponse:
        """Schedule a salon; its eligible members are invited once its invitation window
        opens (the invitation job, every SALON_JOB_SECONDS)."""
        fields = body.model_dump(exclude={"reason"})
        salon = Salon(**{**fields, "eligible_tiers": tuple(body.eligible_tiers)})
        return await _done(salons.schedule(salon, who.id, body.reason), 201)

    @staff_api.patch("/staff/salons/{salon_id}", response_model=SalonView)
    async def change(salon_id: SalonIdPath, body: SalonChange, who: Host) -> JSONResponse:
        fields = body.model_dump(exclude_unset=True, exclude={"reason"})
        if not fields:
            raise HTTPException(422, {"code": "invalid_salon", "message": "nothing to change"})
        if "eligible_tiers" in fields:
            fields["eligible_tiers"] = tuple(fields["eligible_tiers"])
        return await _done(salons.change(salon_id, fields, who.id, body.reason))

    @staff_api.post("/staff/salons/{salon_id}/cancel", response_model=SalonView)
    async def cancel(salon_id: SalonIdPath, body: _SalonFields, who: Host) -> JSONResponse:
        """Final: every guest who accepted or was waiting gets a cancellation notice."""
        return await _done(salons.cancel(salon_id, who.id, body.reason))

    @staff_api.get("/staff/salons/{salon_id}/changes")
    async def changes(salon_id: SalonIdPath, _who: Host) -> list[dict]:
        rows = await sql.changes(salons.pool, salon_id)
        if not rows:
            raise HTTPException(404, {"code": "not_found", "message": f"no salon {salon_id}"})
        return [{**dict(r), "after": json.loads(r["after"]),
                 "before": r["before"] and json.loads(r["before"])} for r in rows]

    @staff_api.post("/staff/salons/{salon_id}/check-ins", response_model=CheckedIn)
    async def check_in(salon_id: SalonIdPath, body: CheckIn, _who: Host) -> CheckedIn:
        """The host checks a guest in with the code the guest shows: once (409
        `code_used`); an unknown code is 404 `unknown_code`. Publishes `salon.attended`."""
        try:
            return CheckedIn(member_id=await salons.check_in(salon_id, body.code))
        except SalonError as exc:
            raise _http(exc) from None

    app = APIRouter(route_class=authenticated_first(members), tags=["app"])
    Member = Annotated[str, Depends(members)]

    @app.get("/app/members/{member_id}/salons", response_model=list[MemberSalon])
    async def of_member(member_id: MemberIdPath, caller: Member) -> list[dict]:
        """Salons taking answers now that the member may join (their tier) or was invited
        to, soonest first, with the member's place and check-in code."""
        _own(member_id, caller)
        return await salons.of_member(member_id)

    @app.post("/app/members/{member_id}/salons/{salon_id}/rsvp", response_model=Place)
    async def rsvp(member_id: MemberIdPath, salon_id: SalonIdPath, body: Rsvp,
                   caller: Member) -> dict:
        """Accept: a seat and a check-in code while seats are left, else the waitlist
        (promoted in order when someone declines, with a message). Decline: the seat goes
        to the first waiting. 409 `rsvp_closed` outside the RSVP window."""
        _own(member_id, caller)
        try:
            return await salons.answer(salon_id, member_id, body.answer == "accept")
        except SalonError as exc:
            raise _http(exc) from None

    api.include_router(staff_api)
    api.include_router(app)
    return api


async def _done(change, status: int = 200) -> JSONResponse:
    try:
        salon = await change
    except SalonError as exc:
        raise _http(exc) from None
    return JSONResponse(as_json(salon), status_code=status)


def _http(exc: SalonError) -> HTTPException:
    return HTTPException(exc.status, {"code": exc.code, "message": exc.message})


def _own(member_id: str, caller: str) -> None:
    if member_id != caller:
        raise HTTPException(404, {"code": "not_found", "message": "no such member"})
