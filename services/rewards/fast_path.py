"""The partner API's hot paths, without FastAPI's per-request work (dependency solving,
validation and serialization spans: about 0.15 ms of CPU a request when measured alone,
half the rewards CPU of an offer redemption under load). An ASGI middleware in front of
the routes, which stay the OpenAPI document and the path for everything else.

- POST /v1/redemptions/lounge-visits: a visit inside the allowance in ONE database call
  (redeem_lounge_visit, migration 0002). It answers only what it can answer fully: a
  well-formed, signed, in-scope request whose visit the function commits (or whose identical
  earlier request under the same Idempotency-Key has a stored answer: replayed byte for
  byte). Everything else - bad signature, stale timestamp, invalid body, unknown lounge,
  used code, allowance used up, points to pay, a reused nonce, the same key with another
  body, a rate limit - is handed on untouched to the route (api.py -> redemptions.py),
  which makes the refusal or the decision with the rules in domain/. The function commits
  nothing when it declines, so the route starts from a clean slate (nonce included).
- POST /v1/redemptions/offers: the route's own steps (auth.py, redemptions.py) called
  directly; a request that is malformed or not signed right is handed on to the route
  before anything is recorded, so the refusal is the route's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
from prometheus_client import Counter
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.envelope import encode
from contracts.rewards.v1 import RedemptionConfirmed

from . import rewards_sql as sql
from .api import MAX_IDEMPOTENCY_KEY
from .auth import PartnerAuth
from .domain import codes
from .domain.benefits import Benefits, lounge_period
from .domain.errors import Refused
from .domain.partners import Partner
from .redemptions import (
    SOURCE,
    Redemptions,
    error,
    event_id,
    location,
    render,
    request_hash,
)
from .schemas import LoungeRedemptionRequest, OfferRedemptionRequest, Redemption

PATH = "/v1/redemptions/lounge-visits"
OFFERS_PATH = "/v1/redemptions/offers"
FAST_PATH = Counter("rewards_fast_path_total",
                    "Partner requests on the fast paths by who answered them: the fast path"
                    " ('answered') or the route ('handed_on').", ["route", "outcome"])
#: A member id that stands in for the one only the database knows (found from the code);
#: the function puts the real one in its place.
PLACEHOLDER = "C0000000000"
_MEMBER_FIELD = f'"member_id":"{PLACEHOLDER}"'.encode()
_HEADERS = {b"x-key-id", b"x-timestamp", b"x-nonce", b"x-signature", b"idempotency-key",
            b"content-type"}


class FastPath:
    def __init__(self, app: ASGIApp, *, redemptions: Redemptions, auth: PartnerAuth,
                 pool: Callable[[], asyncpg.Pool | None]) -> None:
        self.app = app
        self.redemptions = redemptions
        self.auth = auth
        #: The service's requests pool once started (app.py: no reset round trip).
        self.pool = pool
        self._allowances = json.dumps(redemptions.benefits.visits_per_year)  # null: unlimited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if (scope["type"] != "http" or path not in (PATH, OFFERS_PATH)
                or scope["method"] != "POST" or self.pool() is None):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if path == PATH:
            answer = await self.try_redeem(scope, body)
        else:
            answer = await self.try_offer(scope, body)
        route = "lounge" if path == PATH else "offers"
        if answer is None:
            FAST_PATH.labels(route, "handed_on").inc()
            await self.app(scope, _replayed(body, receive), send)
            return
        FAST_PATH.labels(route, "answered").inc()
        status, content, where = answer
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(content)).encode())]
        if where:
            headers.append((b"location", where.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def try_offer(self, scope: Scope, body: bytes) -> tuple[int, bytes, str | None] | None:
        """The route's answer, or None before anything is recorded: the route takes it."""
        signed = await self._signed(scope, OFFERS_PATH, body)
        if signed is None:
            return None
        h, key, partner = signed
        try:
            req = OfferRedemptionRequest.model_validate_json(body)
        except ValidationError:
            return None
        r = self.redemptions
        try:  # from here on as the route: the nonce is recorded
            await self.auth.admit(partner, h[b"x-key-id"], h[b"x-nonce"])
            partner.require_scope("offers")
        except Refused as exc:
            answer = error(exc)
        else:
            answer = await r.once(partner, key, request_hash("POST", OFFERS_PATH, body),
                                  r.redeem_offer(partner, req))
        return answer.status, answer.content, answer.location

    async def _signed(self, scope: Scope, path: str, body: bytes
                      ) -> tuple[dict[bytes, str], str, Partner] | None:
        """The headers, Idempotency-Key and partner of a JSON POST with a usable key whose
        signature holds; None hands the request on to the route, which says what is wrong.
        Nothing is recorded yet (the nonce neither)."""
        h = _headers(scope)
        key = h.get(b"idempotency-key", "")
        if not key or len(key) > MAX_IDEMPOTENCY_KEY or not h.get(
                b"content-type", "").startswith("application/json"):
            return None
        try:
            partner = await self.auth.verified(
                h.get(b"x-key-id", ""), h.get(b"x-timestamp", ""), h.get(b"x-nonce", ""),
                h.get(b"x-signature", ""), "POST", path,
                scope.get("query_string", b"").decode("latin-1"), body)
        except Refused:
            return None
        return h, key, partner

    async def try_redeem(self, scope: Scope, body: bytes) -> tuple[int, bytes, str | None] | None:
        """The answer, or None: the general path takes the request."""
        signed = await self._signed(scope, PATH, body)
        if signed is None:
            return None
        h, key, partner = signed
        try:
            req = LoungeRedemptionRequest.model_validate_json(body)
            partner.require_scope("lounge")
            lounge = self.redemptions.lounges.get(req.lounge_id)
            if lounge is None:
                return None
            partner.require_item("lounge", lounge["id"])
        except (Refused, ValidationError):
            return None
        normalised = codes.normalise(req.code)
        if normalised is None or not self.auth.take_token(partner):
            return None
        r = self.redemptions
        visit = _prepare(r.benefits, partner.id, lounge, 1 + req.guests)
        try:
            return await sql.redeem_lounge_visit(
                self.pool(), key_id=h[b"x-key-id"], nonce=h[b"x-nonce"], partner_id=partner.id,
                key=key,
                request_hash=request_hash("POST", PATH, body),
                code_hash=codes.code_hash(r.pepper, normalised),
                allowances=self._allowances, **visit)
        except sql.Declined:
            self.auth.give_back_token(partner)
            return None


def _prepare(benefits: Benefits, partner_id: str, lounge: asyncpg.Record, persons: int
             ) -> dict:
    """The confirmed visit as the general path would record it: its answer's bytes and its
    event, encoded with a stand-in member id, split where the database puts the real one."""
    now = datetime.now(UTC)
    today = benefits.today(now)
    redemption_id = f"rdm_{uuid.uuid4().hex}"
    where = location(redemption_id)
    answer = Redemption(
        id=redemption_id, kind="lounge", item_id=lounge["id"], title=lounge["name"],
        persons=persons, points=0, status="confirmed", valid_on=today, created_at=now,
        settled_at=now).model_dump(mode="json")
    event = RedemptionConfirmed(
        member_id=PLACEHOLDER, redemption_id=redemption_id, partner_id=partner_id,
        kind="lounge", item_id=lounge["id"], title=lounge["name"], persons=persons, points=0,
        valid_on=today, confirmed_at=now)
    encoded = encode(event, source=SOURCE, id=event_id(redemption_id, event.ce_type))
    at = encoded.value.index(_MEMBER_FIELD) + len(_MEMBER_FIELD) - len(PLACEHOLDER) - 1
    return dict(
        period=lounge_period(today), redemption_id=redemption_id, lounge_id=lounge["id"],
        title=lounge["name"], persons=persons, valid_on=today, at=now, body=render(answer),
        location=where, topic=encoded.topic, value_head=encoded.value[:at],
        value_tail=encoded.value[at + len(PLACEHOLDER):],
        header_names=[name for name, _ in encoded.headers],
        header_values=[value for _, value in encoded.headers],
        subject_placeholder=PLACEHOLDER.encode())


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


def _replayed(body: bytes, receive: Receive) -> Receive:
    """`receive` for the general path: the body already read, then the real channel."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replay

