"""The HTTP API, versioned under /v1.

Partners (signed requests, see auth.py and domain/signing.py):
    POST /v1/redemptions/lounge-visits     redeem a lounge visit        scope `lounge`
    POST /v1/redemptions/offers            redeem an alliance offer     scope `offers`
    GET  /v1/redemptions/{id}              one of the partner's own redemptions
    POST /v1/redemptions/{id}/cancel       cancel it (points are refunded)
    GET  /v1/redemptions                   the partner's own, newest first
The bank's app backend (Authorization: Bearer APP_TOKEN):
    POST /v1/app/members/{member_id}/redemption-codes
    GET  /v1/app/members/{member_id}/entitlements
Every POST of a partner needs an Idempotency-Key; errors are {"code", "message"}.
"""

import base64
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from . import rewards_sql as sql
from .auth import AppAuth, PartnerAuth
from .domain.benefits import lounge_period
from .domain.errors import refuse
from .domain.partners import Partner
from .redemptions import Answer, Redemptions, error, request_hash, view
from .schemas import (
    CodeIssued,
    Entitlements,
    Error,
    LoungeEntitlement,
    LoungeRedemptionRequest,
    OfferRedemptionRequest,
    Redemption,
    RedemptionPage,
)

MemberIdPath = Annotated[str, Path(pattern=r"^C[0-9]{10}$")]
#: Longest Idempotency-Key accepted (the fast path, fast_path.py, holds to it too).
MAX_IDEMPOTENCY_KEY = 128
IdempotencyKey = Annotated[str | None,
                           Header(alias="Idempotency-Key", max_length=MAX_IDEMPOTENCY_KEY)]
_ERRORS = {status: {"model": Error} for status in (400, 401, 403, 404, 409, 422, 429)}
_SIGNED = {"description": "Signed: X-Key-Id, X-Timestamp, X-Nonce, X-Signature."}


def router(redemptions: Redemptions, partner_auth: PartnerAuth, app_auth: AppAuth) -> APIRouter:
    api = APIRouter(prefix="/v1", responses=_ERRORS)
    PartnerDep = Annotated[Partner, Depends(partner_auth)]

    async def once(request: Request, partner: Partner, key: str | None, perform) -> Response:
        if not key:
            return _json(error(refuse("idempotency_key_missing",
                                      "POST requests need an Idempotency-Key header")))
        digest = request_hash(request.method, request.url.path, await request.body())
        return _json(await redemptions.once(partner, key, digest, perform))

    @api.post("/redemptions/lounge-visits", status_code=201, response_model=Redemption,
              responses={202: {"model": Redemption, "description": "Waiting for points"}},
              tags=["partners"], openapi_extra=_SIGNED)
    async def redeem_lounge_visit(body: LoungeRedemptionRequest, request: Request,
                                  partner: PartnerDep, idempotency_key: IdempotencyKey = None):
        """Inside the member's allowance it is confirmed at once; persons beyond it pay
        points (`allow_points`) through the points service: 201, or 202 while waiting."""
        partner.require_scope("lounge")
        return await once(request, partner, idempotency_key,
                          redemptions.redeem_lounge(partner, body))

    @api.post("/redemptions/offers", status_code=201, response_model=Redemption,
              responses={202: {"model": Redemption, "description": "Waiting for points"}},
              tags=["partners"], openapi_extra=_SIGNED)
    async def redeem_offer(body: OfferRedemptionRequest, request: Request, partner: PartnerDep,
                           idempotency_key: IdempotencyKey = None):
        partner.require_scope("offers")
        return await once(request, partner, idempotency_key,
                          redemptions.redeem_offer(partner, body))

    @api.get("/redemptions/{redemption_id}", response_model=Redemption, tags=["partners"],
             openapi_extra=_SIGNED)
    async def get_redemption(redemption_id: str, partner: PartnerDep):
        row = await sql.redemption(redemptions.pool, partner.id, redemption_id)
        if row is None:  # another partner's redemption is as absent as a made-up one
            raise refuse("not_found", f"no redemption {redemption_id}")
        return JSONResponse(view(row))

    @api.post("/redemptions/{redemption_id}/cancel", response_model=Redemption,
              tags=["partners"], openapi_extra=_SIGNED)
    async def cancel_redemption(redemption_id: str, request: Request, partner: PartnerDep,
                                idempotency_key: IdempotencyKey = None):
        return await once(request, partner, idempotency_key,
                          redemptions.cancel(partner, redemption_id))

    @api.get("/redemptions", response_model=RedemptionPage, tags=["partners"],
             openapi_extra=_SIGNED)
    async def list_redemptions(
            partner: PartnerDep, limit: Annotated[int, Query(ge=1, le=200)] = 50,
            before: str | None = None,
            status: Literal["pending", "confirmed", "rejected", "cancelled"] | None = None):
        rows = await sql.partner_redemptions(redemptions.pool, partner.id, limit,
                                             _cursor(before), status)
        next_before = None
        if len(rows) == limit:
            last = rows[-1]
            next_before = base64.urlsafe_b64encode(
                f"{last['created_at'].isoformat()}|{last['id']}".encode()).decode()
        return JSONResponse({"items": [view(r) for r in rows], "next_before": next_before})

    @api.post("/app/members/{member_id}/redemption-codes", status_code=201,
              response_model=CodeIssued, tags=["app"], dependencies=[Depends(app_auth)])
    async def issue_code(member_id: MemberIdPath):
        """A single-use code the member shows at a partner, valid a few minutes."""
        code, expires_at = await redemptions.issue_code(member_id)
        return CodeIssued(code=code, expires_at=expires_at)

    @api.get("/app/members/{member_id}/entitlements", response_model=Entitlements,
             tags=["app"], dependencies=[Depends(app_auth)])
    async def entitlements(member_id: MemberIdPath):
        benefits = redemptions.benefits
        member = await sql.member(redemptions.pool, member_id)
        tier = member["tier"] if member else "standard"
        today = benefits.today(datetime.now(UTC))
        used = await sql.read_usage(redemptions.pool, member_id, "lounge", lounge_period(today))
        allowance = benefits.visits_per_year[tier]
        return Entitlements(
            tier=tier, closed=bool(member and member["closed"]),
            lounge=LoungeEntitlement(
                year=today.year, allowance=allowance, used=used,
                remaining=None if allowance is None else max(0, allowance - used),
                points_per_person_beyond=benefits.points_per_person))

    return api


def _json(answer: Answer) -> Response:
    return Response(answer.content, status_code=answer.status, headers=answer.headers,
                    media_type="application/json")


def _cursor(before: str | None) -> tuple[datetime, str] | None:
    if not before:
        return None
    try:
        at, _, redemption_id = base64.urlsafe_b64decode(before.encode()).decode().partition("|")
        return datetime.fromisoformat(at), redemption_id
    except ValueError as exc:
        raise refuse("not_found", "unknown cursor") from exc
