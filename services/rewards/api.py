"""The HTTP API, versioned under /v1.

Partners (signed requests, see auth.py and domain/signing.py):
    POST /v1/redemptions/lounge-visits     redeem a lounge visit        scope `lounge`
    POST /v1/redemptions/offers            redeem an alliance offer     scope `offers`
    GET  /v1/redemptions/{id}              one of the partner's own redemptions
    POST /v1/redemptions/{id}/cancel       cancel it: confirmed (points refunded), or still
                                           waiting for points (a debit landing later is
                                           refunded); otherwise 409 not_cancellable
    GET  /v1/redemptions                   the partner's own, newest first
    GET  /v1/catalogue                     the partner's own catalogue entries
    GET  /v1/catalogue/changes             changes to them after a catalogue version
The bank's app (the member's bearer token, runtime/auth.py; another member's id is 404):
    POST /v1/app/members/{member_id}/redemption-codes
    GET  /v1/app/members/{member_id}/entitlements
    GET  /v1/app/members/{member_id}/catalogue/offers|lounges   browse, paginated
    GET  /v1/app/members/{member_id}/charities      whom the member may give points to
    POST /v1/app/members/{member_id}/donations      give points (Idempotency-Key; the saga)
    GET  /v1/app/members/{member_id}/donations?year the year's donations and their total
Staff (an OIDC token with the catalogue role; docs/catalogue.md):
    POST /v1/staff/catalogue/offers|lounges, PATCH .../{id}, POST .../{id}/withdraw
    GET  /v1/staff/catalogue/changes       the audit
Every POST of a partner needs an Idempotency-Key; errors are {"code", "message"}.

The partner POSTs are `SignedCommand` routes: declared like the others (so the OpenAPI
document describes them as FastAPI does), but served without FastAPI's per-request
machinery (dependency solving, validation and serialization spans: about 0.15 ms of CPU a
request, half the service's CPU of a redemption under load); `SignedEntry` hands the two
redemption POSTs to their route without the routing. `SignedCommand` checks the signature
once, parses the body and calls the route's function; its command (handlers/redemptions.py)
records the nonce with its answer. A refusal before the command records the nonce all the
same (but for the rate, 429: that request may be sent again as it is), so what a partner
hears, and in which order, is what FastAPI's dependencies answered: 401, 429, 422
(invalid request), 403, 400, then the command's answer.
"""

import base64
import email.message
import inspect
import json
import re
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from contracts.tiers import ENROLMENT_TIER, Tier
from runtime.auth import MemberAuth, Staff, StaffAuth, authenticated_first

from .auth import SIGNED_HEADERS, PartnerAuth
from .domain.catalogue import (
    CatalogueError,
    Entry,
    LoungeEntry,
    OfferEntry,
    OfferFilter,
    as_json,
    page,
    remaining,
    usage_counter,
)
from .domain.errors import Refused, refuse
from .domain.signing import NONCE_REUSED
from .handlers.catalogue import Catalogue
from .handlers.donations import Donations
from .handlers.redemptions import Caller, Redemptions
from .schemas import (
    LOUNGE_ID,
    OFFER_ID,
    Answer,
    BrowsedLounge,
    BrowsedOffer,
    CatalogueChanges,
    CatalogueChangeView,
    CharityView,
    CodeIssued,
    Donation,
    DonationRequest,
    DonationYear,
    Entitlements,
    Error,
    LoungeChange,
    LoungeCreate,
    LoungePage,
    LoungeRedemptionRequest,
    OfferChange,
    OfferCreate,
    OfferPage,
    OfferRedemptionRequest,
    PartnerCatalogue,
    Redemption,
    RedemptionPage,
    Withdrawal,
    error,
    view,
)
from .sql import catalogue as catalogue_sql
from .sql import members as members_sql
from .sql import redemptions as sql

MemberIdPath = Annotated[str, Path(pattern=r"^C[0-9]{10}$")]
#: Longest Idempotency-Key accepted.
MAX_IDEMPOTENCY_KEY = 128
IdempotencyKey = Annotated[str | None,
                           Header(alias="Idempotency-Key", max_length=MAX_IDEMPOTENCY_KEY)]
_ERRORS = {status: {"model": Error} for status in (400, 401, 403, 404, 409, 422, 429)}
_SIGNED = SIGNED_HEADERS
_WAITING = {202: {"model": Redemption, "description": "Waiting for points"}}


def router(redemptions: Redemptions, partner_auth: PartnerAuth,
           members: MemberAuth) -> APIRouter:
    api = APIRouter(prefix="/v1", responses=_ERRORS)
    CallerDep = Annotated[Caller, Depends(partner_auth)]
    command = signed_command(partner_auth)

    def signed_post(path: str, **declared):
        def register(endpoint):
            api.add_api_route(path, endpoint, methods=["POST"], route_class_override=command,
                              **declared)
            return endpoint
        return register

    @signed_post("/redemptions/lounge-visits", status_code=201, response_model=Redemption,
                 responses=_WAITING, tags=["partners"], openapi_extra=_SIGNED)
    async def redeem_lounge_visit(body: LoungeRedemptionRequest, caller: CallerDep,
                                  idempotency_key: IdempotencyKey = None) -> Answer:
        """Inside the member's allowance it is confirmed at once; persons beyond it pay
        points (`allow_points`) through the points service: 201, or 202 while waiting."""
        caller.partner.require_scope("lounge")
        return await redemptions.redeem_lounge(caller, _required(idempotency_key), body)

    @signed_post("/redemptions/offers", status_code=201, response_model=Redemption,
                 responses=_WAITING, tags=["partners"], openapi_extra=_SIGNED)
    async def redeem_offer(body: OfferRedemptionRequest, caller: CallerDep,
                           idempotency_key: IdempotencyKey = None) -> Answer:
        caller.partner.require_scope("offers")
        return await redemptions.redeem_offer(caller, _required(idempotency_key), body)

    @api.get("/redemptions/{redemption_id}", response_model=Redemption, tags=["partners"],
             openapi_extra=_SIGNED)
    async def get_redemption(redemption_id: str, caller: CallerDep):
        _known_shape(redemption_id)
        found = await sql.redemption(redemptions.pool, caller.partner.id, redemption_id)
        if found is None:  # another partner's redemption is as absent as a made-up one
            raise refuse("not_found", f"no redemption {redemption_id}")
        return JSONResponse(view(found))

    @signed_post("/redemptions/{redemption_id}/cancel", response_model=Redemption,
                 tags=["partners"], openapi_extra=_SIGNED)
    async def cancel_redemption(redemption_id: str, caller: CallerDep,
                                idempotency_key: IdempotencyKey = None) -> Answer:
        """Cancel one of the partner's redemptions: a confirmed one (points it cost are
        refunded: `refund_status` requested, then refunded), or a points-paid one still
        pending (nothing was debited yet; a debit that lands later is refunded). A rejected
        one (also `timed_out`: pending longer than the service waits) or one cancelled
        before answers 409 `not_cancellable`. Retried with the same Idempotency-Key, the
        first answer again."""
        _known_shape(redemption_id)
        return await redemptions.cancel(caller, _required(idempotency_key), redemption_id)

    @api.get("/redemptions", response_model=RedemptionPage, tags=["partners"],
             openapi_extra=_SIGNED)
    async def list_redemptions(
            caller: CallerDep, limit: Annotated[int, Query(ge=1, le=200)] = 50,
            before: str | None = None,
            status: Literal["pending", "confirmed", "rejected", "cancelled"] | None = None):
        rows = await sql.partner_redemptions(redemptions.pool, caller.partner.id, limit,
                                             _cursor(before), status)
        next_before = None
        if len(rows) == limit:
            last = rows[-1]
            next_before = base64.urlsafe_b64encode(
                f"{last.created_at.isoformat()}|{last.id}".encode()).decode()
        return JSONResponse({"items": [view(r) for r in rows], "next_before": next_before})

    app = APIRouter(route_class=authenticated_first(members), tags=["app"])
    Member = Annotated[str, Depends(members)]

    @app.post("/app/members/{member_id}/redemption-codes", status_code=201,
              response_model=CodeIssued)
    async def issue_code(member_id: MemberIdPath, caller: Member):
        """A single-use code the member shows at a partner, valid a few minutes."""
        _own(member_id, caller)
        code, expires_at = await redemptions.issue_code(member_id)
        return CodeIssued(code=code, expires_at=expires_at)

    @app.get("/app/members/{member_id}/entitlements", response_model=Entitlements)
    async def entitlements(member_id: MemberIdPath, caller: Member):
        _own(member_id, caller)
        return await redemptions.entitlements(member_id)

    api.include_router(app)
    return api


def catalogue_router(catalogue: Catalogue, redemptions: Redemptions,
                     partner_auth: PartnerAuth, members: MemberAuth, staff: StaffAuth,
                     catalogue_role: str) -> APIRouter:
    """The catalogue: staff manage it, members browse it, partners read their own."""
    api = APIRouter(prefix="/v1", responses=_ERRORS)
    view, pool, benefits = catalogue.view, redemptions.pool, redemptions.benefits
    CallerDep = Annotated[Caller, Depends(partner_auth)]
    Limit = Annotated[int, Query(ge=1, le=200)]
    After = Annotated[int, Query(ge=0, le=2**62, description="A catalogue version.")]
    OfferIdPath = Annotated[str, Path(pattern=OFFER_ID)]
    LoungeIdPath = Annotated[str, Path(pattern=LOUNGE_ID)]

    @api.get("/catalogue", response_model=PartnerCatalogue, tags=["partners"],
             openapi_extra=_SIGNED)
    async def partner_catalogue(caller: CallerDep) -> PartnerCatalogue:
        """The partner's own offers (its merchant's) and lounges (it operates), withdrawn
        ones too, as this instance holds them (at most CATALOGUE_REFRESH_SECONDS behind)."""
        own = view.of_partner(caller.partner.id)
        return PartnerCatalogue(
            version=view.version,
            offers=[e for e in own if isinstance(e, OfferEntry)],
            lounges=[e for e in own if isinstance(e, LoungeEntry)])

    @api.get("/catalogue/changes", response_model=CatalogueChanges, tags=["partners"],
             openapi_extra=_SIGNED)
    async def partner_changes(caller: CallerDep, after: After = 0,
                              limit: Limit = 100) -> CatalogueChanges:
        """Changes to the partner's own entries after catalogue version `after`, oldest
        first (each also published as `catalogue.entry-changed`, keyed by partner id)."""
        rows = await catalogue_sql.changes(pool, after, limit, caller.partner.id)
        return _changes(rows, limit, staff=False)

    app = APIRouter(route_class=authenticated_first(members), tags=["app"])
    Member = Annotated[str, Depends(members)]

    @app.get("/app/members/{member_id}/catalogue/offers", response_model=OfferPage)
    async def browse_offers(member_id: MemberIdPath, caller: Member,
                            city: Annotated[str | None, Query(max_length=32)] = None,
                            industry: Annotated[str | None, Query(max_length=32)] = None,
                            tier: Tier | None = None, after: Annotated[
                                str | None, Query(max_length=64)] = None,
                            limit: Annotated[int, Query(ge=1, le=100)] = 20) -> OfferPage:
        """Offers open today, by id: in `city` (or redeemable everywhere), of `industry`,
        open to `tier` (default: the member's own). Each with what the member has left
        of it this period (its `period`: day, month or year)."""
        _own(member_id, caller)
        today = benefits.today(datetime.now(UTC))
        member = await members_sql.member(pool, member_id)
        own_tier = member["tier"] if member else ENROLMENT_TIER
        offers, next_after = page(view.browse_offers(
            OfferFilter(city=city, industry=industry, tier=tier or own_tier), today),
            after, limit)
        counters = [usage_counter(o, today) for o in offers]
        used = await catalogue_sql.used(pool, member_id, counters)
        return OfferPage(tier=own_tier, next_after=next_after, items=[
            BrowsedOffer(**_browsed(o), redeemable=own_tier in o.eligible_tiers,
                         used=used.get(c, 0), remaining=remaining(o, used.get(c, 0)))
            for o, c in zip(offers, counters, strict=True)])

    @app.get("/app/members/{member_id}/catalogue/lounges", response_model=LoungePage)
    async def browse_lounges(member_id: MemberIdPath, caller: Member,
                             city: Annotated[str | None, Query(max_length=32)] = None,
                             after: Annotated[str | None, Query(max_length=64)] = None,
                             limit: Annotated[int, Query(ge=1, le=100)] = 20) -> LoungePage:
        """Lounges open today (in `city`), by id, with the member's visits left this year."""
        _own(member_id, caller)
        lounges, next_after = page(view.browse_lounges(
            city, benefits.today(datetime.now(UTC))), after, limit)
        entitled = await redemptions.entitlements(member_id)
        return LoungePage(tier=entitled.tier, lounge=entitled.lounge, next_after=next_after,
                          items=[BrowsedLounge(id=x.id, airport_code=x.airport_code,
                                               city=x.city, terminal=x.terminal, name=x.name)
                                 for x in lounges])

    staff_api = APIRouter(route_class=authenticated_first(staff), tags=["staff"])
    Manager = Annotated[Staff, Depends(staff.requiring(catalogue_role))]

    @staff_api.post("/staff/catalogue/offers", status_code=201, response_model=OfferEntry)
    async def create_offer(body: OfferCreate, who: Manager):
        """A new offer; from `valid_from` on (a later day schedules it) it is redeemable on
        every instance within CATALOGUE_REFRESH_SECONDS. 409 `entry_exists`."""
        fields = body.model_dump(exclude={"reason"})
        entry = OfferEntry(**{**fields, "eligible_tiers": tuple(body.eligible_tiers),
                              "cities": tuple(body.cities)})
        return await _staff_change(catalogue.create(entry, who.id, body.reason), 201)

    @staff_api.patch("/staff/catalogue/offers/{offer_id}", response_model=OfferEntry)
    async def change_offer(offer_id: OfferIdPath, body: OfferChange, who: Manager):
        """Change (or reschedule: `valid_from`, `valid_until`) an offer. 404 `not_found`;
        409 `entry_withdrawn`; 422 `invalid_entry`."""
        return await _staff_change(catalogue.change(
            "offer", offer_id, _changed(body), who.id, body.reason))

    @staff_api.post("/staff/catalogue/offers/{offer_id}/withdraw",
                    response_model=OfferEntry)
    async def withdraw_offer(offer_id: OfferIdPath, body: Withdrawal, who: Manager):
        """No longer redeemable, on every instance within CATALOGUE_REFRESH_SECONDS; final."""
        return await _staff_change(catalogue.withdraw("offer", offer_id, who.id, body.reason))

    @staff_api.post("/staff/catalogue/lounges", status_code=201, response_model=LoungeEntry)
    async def create_lounge(body: LoungeCreate, who: Manager):
        entry = LoungeEntry(**body.model_dump(exclude={"reason"}))
        return await _staff_change(catalogue.create(entry, who.id, body.reason), 201)

    @staff_api.patch("/staff/catalogue/lounges/{lounge_id}", response_model=LoungeEntry)
    async def change_lounge(lounge_id: LoungeIdPath, body: LoungeChange, who: Manager):
        return await _staff_change(catalogue.change(
            "lounge", lounge_id, _changed(body), who.id, body.reason))

    @staff_api.post("/staff/catalogue/lounges/{lounge_id}/withdraw",
                    response_model=LoungeEntry)
    async def withdraw_lounge(lounge_id: LoungeIdPath, body: Withdrawal, who: Manager):
        return await _staff_change(catalogue.withdraw("lounge", lounge_id, who.id,
                                                      body.reason))

    @staff_api.get("/staff/catalogue/changes", response_model=CatalogueChanges)
    async def staff_changes(_who: Manager, after: After = 0,
                            limit: Limit = 100,
                            partner_id: Annotated[str | None, Query(max_length=64)] = None
                            ) -> CatalogueChanges:
        """The audit: who changed what when, and why; oldest first."""
        return _changes(await catalogue_sql.changes(pool, after, limit, partner_id), limit,
                        staff=True)

    api.include_router(app)
    api.include_router(staff_api)
    return api


def donations_router(donations: Donations, members: MemberAuth) -> APIRouter:
    """Giving points: the charities, a donation, a year's donations (the member's own)."""
    app = APIRouter(prefix="/v1", responses=_ERRORS, route_class=authenticated_first(members),
                    tags=["app"])
    Member = Annotated[str, Depends(members)]

    @app.get("/app/members/{member_id}/charities", response_model=list[CharityView])
    async def charities(member_id: MemberIdPath, caller: Member) -> list[CharityView]:
        """The charity partners the member may give points to, with the points one
        donation may be."""
        _own(member_id, caller)
        return donations.charity_list()

    @app.post("/app/members/{member_id}/donations", status_code=201, response_model=Donation,
              responses={202: {"model": Donation, "description": "Waiting for points"}})
    async def donate(member_id: MemberIdPath, body: DonationRequest, caller: Member,
                     idempotency_key: IdempotencyKey = None) -> Response:
        """Give points to a charity: debited through the points service (never beyond the
        balance: 422 `insufficient_points`), 201 once confirmed, 202 while waiting; a thank-
        you message follows. Retried with the same Idempotency-Key, it donates once."""
        _own(member_id, caller)
        answer = await donations.donate(member_id, _required(idempotency_key), body)
        return Response(answer.content, status_code=answer.status,
                        media_type="application/json")

    @app.get("/app/members/{member_id}/donations", response_model=DonationYear)
    async def donations_of_year(member_id: MemberIdPath, caller: Member,
                                year: Annotated[int | None, Query(ge=2000, le=9998)] = None
                                ) -> DonationYear:
        """The member's donations of a calendar year (default: this one), with the total
        of the confirmed ones, for their statement."""
        _own(member_id, caller)
        return await donations.year(member_id, year or datetime.now(donations.zone).year)

    return app


async def _staff_change(change: Awaitable[Entry], status: int = 200) -> JSONResponse:
    try:
        entry = await change
    except CatalogueError as exc:
        raise HTTPException(exc.status, {"code": exc.code, "message": exc.message}) from None
    return JSONResponse(as_json(entry), status_code=status)


def _changed(body: BaseModel) -> dict:
    fields = body.model_dump(exclude_unset=True, exclude={"reason"})
    if not fields:
        raise HTTPException(422, {"code": "invalid_entry", "message": "nothing to change"})
    return {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}


def _browsed(o: OfferEntry) -> dict:
    return {k: v for k, v in as_json(o).items() if k in BrowsedOffer.model_fields}


def _changes(rows: list, limit: int, *, staff: bool) -> CatalogueChanges:
    changes = [CatalogueChangeView(
        version=r["version"], kind=r["kind"], entry_id=r["entry_id"],
        partner_id=r["partner_id"], change=r["change"], at=r["at"],
        after=json.loads(r["after"]), before=r["before"] and json.loads(r["before"]),
        staff_id=r["staff_id"] if staff else None, reason=r["reason"] if staff else None)
        for r in rows]
    return CatalogueChanges(changes=changes,
                            next_after=changes[-1].version if len(rows) == limit else None)


def _own(member_id: str, caller: str) -> None:
    """Another member's data is as absent as an unknown id."""
    if member_id != caller:
        raise HTTPException(404, {"code": "not_found", "message": "no such member"})


def _required(key: str | None) -> str:
    if not key:
        raise refuse("idempotency_key_missing", "POST requests need an Idempotency-Key header")
    return key


def _cursor(before: str | None) -> tuple[datetime, str] | None:
    if not before:
        return None
    try:
        at, _, redemption_id = base64.urlsafe_b64decode(before.encode()).decode().partition("|")
        when = datetime.fromisoformat(at)
    except ValueError as exc:
        raise refuse("not_found", "unknown cursor") from exc
    # What the database could not take (a NUL, a naive or far-off time) is no cursor of ours.
    if when.tzinfo is None or not 2000 <= when.year <= 9000 or not _ID.fullmatch(redemption_id):
        raise refuse("not_found", "unknown cursor")
    return when, redemption_id


_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _known_shape(redemption_id: str) -> None:
    """An id that cannot be one of ours (a NUL, thousands of characters) is as unknown as a
    made-up one, without a query."""
    if not _ID.fullmatch(redemption_id):
        raise refuse("not_found", "no such redemption")


def invalid(exc: RequestValidationError) -> Answer:
    """A request FastAPI (or SignedCommand, alike) found malformed."""
    where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return Answer.of(422, {"code": "invalid_request", "message": where[:500]})


# ---------------------------------------------------------------------- partner POSTs

_HEADERS = {b"x-key-id", b"x-timestamp", b"x-nonce", b"x-signature", b"idempotency-key",
            b"content-type"}
_NO_BODY = object()


class SignedCommand(APIRoute):
    """A partner POST whose function takes `caller` (made here), `idempotency_key`,
    then its path parameters and its `body` (a model, if it has one)."""

    auth: PartnerAuth  # set on the class `signed_command` makes

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        parameter = inspect.signature(self.endpoint).parameters.get("body")
        self.body_model: type[BaseModel] | None = parameter and parameter.annotation

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await super().handle(scope, receive, send)  # 405, as any route
            return
        try:
            answer = await self.answer(scope, await _read_body(receive))
        except Refused as exc:
            answer = error(exc)
        except RequestValidationError as exc:
            answer = invalid(exc)
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(answer.content)).encode())]
        if answer.location:
            headers.append((b"location", answer.location.encode()))
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": headers})
        await send({"type": "http.response.body", "body": answer.content})

    async def answer(self, scope: Scope, body: bytes) -> Answer:
        h = _headers(scope)
        # The signature first: an unsigned request learns nothing from the body parser.
        caller = await self.auth.verified(
            h.get(b"x-key-id", ""), h.get(b"x-timestamp", ""), h.get(b"x-nonce", ""),
            h.get(b"x-signature", ""), "POST", scope.get("root_path", "") + scope["path"],
            scope.get("query_string", b"").decode("latin-1"), body)
        data = self.decoded(h.get(b"content-type"), body)
        await self.auth.within_rate(caller)  # a 429 leaves the nonce unused
        try:
            try:
                return await self.endpoint(caller=caller, **self.arguments(h, data, scope))
            except (Refused, RequestValidationError) as exc:
                if not _nonce_reused(exc):  # refused before its command ran
                    await self.auth.first_use(caller)
                raise
        except Refused as exc:
            if _nonce_reused(exc):
                self.auth.give_back(caller)
            raise

    def decoded(self, content_type: str | None, body: bytes) -> object:
        """The body as FastAPI reads it: JSON under a JSON media type (once the signature
        is checked)."""
        if self.body_model is None or not body:
            return _NO_BODY
        if content_type is None or not _is_json(content_type):
            return body
        try:
            return json.loads(body)
        except json.JSONDecodeError as exc:
            raise RequestValidationError([{
                "type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
                "input": {}, "ctx": {"error": exc.msg}}]) from exc
        except (UnicodeDecodeError, RecursionError) as exc:  # not UTF-8; nested past reason
            raise RequestValidationError([{
                "type": "json_invalid", "loc": ("body",), "msg": "JSON decode error",
                "input": {}, "ctx": {"error": type(exc).__name__}}]) from exc

    def arguments(self, h: dict[bytes, str], data: object, scope: Scope) -> dict:
        errors: list[dict] = []
        key = h.get(b"idempotency-key")
        if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
            errors.append({"type": "string_too_long", "loc": ("header", "Idempotency-Key"),
                           "msg": f"String should have at most {MAX_IDEMPOTENCY_KEY}"
                                  " characters", "input": key})
        arguments = {"idempotency_key": key, **scope.get("path_params", {})}
        if self.body_model is not None:
            if data is _NO_BODY:
                errors.append({"type": "missing", "loc": ("body",), "msg": "Field required",
                               "input": None})
            else:
                try:
                    arguments["body"] = self.body_model.model_validate(data)
                except ValidationError as exc:
                    errors.extend({**e, "loc": ("body", *e["loc"])} for e in exc.errors())
        if errors:
            raise RequestValidationError(errors)
        return arguments


def signed_command(auth: PartnerAuth) -> type[SignedCommand]:
    """The route class of a router's partner POSTs (FastAPI builds its routes itself)."""
    return type("SignedCommand", (SignedCommand,), {"auth": auth})


class SignedEntry:
    """ASGI entry of the partner POSTs at fixed paths: straight to their SignedCommand
    route, the same one the router would pick, without the routing and middleware that
    cost about 20 µs a request. Anything else goes on to the app."""

    def __init__(self, app: ASGIApp, *, router: APIRouter) -> None:
        self.app = app
        self.routes = {route.path: route for route in router.routes
                       if isinstance(route, SignedCommand) and "{" not in route.path}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = (self.routes.get(scope["path"])
                 if scope["type"] == "http" and scope["method"] == "POST" else None)
        if route is None:
            await self.app(scope, receive, send)
        else:
            await route.handle(scope, receive, send)


def _nonce_reused(exc: Exception) -> bool:
    return isinstance(exc, Refused) and exc.code == NONCE_REUSED


def _is_json(content_type: str) -> bool:
    if content_type == "application/json":
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json"))


def _headers(scope: Scope) -> dict[bytes, str]:
    h: dict[bytes, str] = {}
    for name, value in scope["headers"]:  # the first of repeated ones, as Starlette reads
        if name in _HEADERS and name not in h:
            h[name] = value.decode("latin-1")
    return h


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
