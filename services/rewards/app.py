"""Where messages and requests enter the rewards service, and how it is assembled.

    loyalty.members.v1 --(batches)--> project_members (handlers/members.py)
        -> the members projection (tier, closed)
    loyalty.points.v1  --(batches)--> SettleRedemptions (handlers/saga.py)
        -> redemption confirmed / rejected on loyalty.rewards.v1, the waiting request's
           answer stored and NOTIFYed (settlements.py); a debit that landed after the
           redemption timed out or was cancelled -> redemption refund-requested
    HTTP POST /v1/redemptions/lounge-visits, /offers, /{id}/cancel (api.py, signed)
        -> Redemptions (handlers/redemptions.py): load, decide (domain/), save, emit
        -> redemption requested / confirmed / cancelled on loyalty.rewards.v1
    HTTP GET /v1/redemptions..., /v1/app/... (api.py) -> reads, codes, entitlements
    every 60 s -> prune (handlers/pruning.py): nonces, dead codes, old answered keys
    every few s -> TimeOuts (handlers/timeouts.py): pending past SAGA_TIMEOUT_SECONDS ->
        redemption rejected (timed_out) on loyalty.rewards.v1

Everything goes out on loyalty.rewards.v1 through the outbox.
"""

from __future__ import annotations

import gc
from pathlib import Path

import asyncpg
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from contracts.accounts.v1 import MemberClosed, MemberEnrolled, MemberTierChanged
from contracts.points.v1 import PointsDebited, PointsDebitRejected, PointsRefunded
from contracts.topics import MEMBERS_V1, POINTS_V1, REWARDS_V1
from runtime.auth import MemberAuth
from runtime.service import LazyPool, Service

from . import metrics
from .api import SignedEntry, invalid, router
from .auth import PartnerAuth
from .domain.errors import Refused
from .domain.redemptions import Lounge
from .handlers.members import project_members
from .handlers.pruning import PRUNE_SECONDS, prune
from .handlers.redemptions import Redemptions
from .handlers.saga import SettleRedemptions
from .handlers.timeouts import TimeOuts, check_every
from .schemas import error
from .settings import RewardsSettings, load_benefits, read_lounges, read_offer_rows, read_offers
from .settlements import Settlements
from .sql.catalogue import upsert_catalogue

PACKAGE_DIR = Path(__file__).parent


def build(name: str = "rewards", topic_prefix: str = "",
          settings: RewardsSettings | None = None) -> Service:
    """`name` is the schema and the consumer group; tests pass their own, and a prefix for
    private topics, to stay apart."""
    settings = settings or RewardsSettings()
    benefits = load_benefits(settings.benefits_file)  # a bad file stops the start here
    service = Service(name, settings=settings, package_dir=PACKAGE_DIR,
                      publishes=[REWARDS_V1], topic_prefix=topic_prefix)
    #: The HTTP requests' connections, beside the runtime's pool (consumers, relay, jobs).
    #: Handed back without the reset round trip a pooled connection normally costs (asyncpg
    #: still rolls back a transaction left open): request code sets no session state (no
    #: SET, LISTEN, session locks or cursors). All opened at start: a connection opened under
    #: load (SCRAM authentication, then each statement planned anew) held the first seconds
    #: of a 1,000 requests/s run at p99 450-880 ms.
    service.requests_pool = None
    requests_pool = LazyPool(service, "requests_pool")
    service.settlements = settlements = Settlements(settings.database_url, name)
    service.redemptions = redemptions = Redemptions(
        service=name, pool=requests_pool, benefits=benefits, pepper=settings.pepper(),
        settlements=settlements, saga_wait=settings.saga_wait_seconds)

    # Tests watch the processors' commits.
    service.members = service.subscribe(
        MEMBERS_V1, project_members, consumes=[MemberEnrolled, MemberTierChanged, MemberClosed])
    service.points = service.subscribe(
        POINTS_V1, SettleRedemptions(settlements.channel),
        consumes=[PointsDebited, PointsDebitRejected, PointsRefunded])

    async def open_requests_pool() -> None:
        service.requests_pool = await asyncpg.create_pool(
            settings.database_url, min_size=settings.db_pool_max,
            max_size=settings.db_pool_max,
            server_settings={"search_path": service.schema,
                             "application_name": f"loyalty-{service.schema}-requests"},
            reset=_nothing_to_reset)

    async def close_requests_pool() -> None:
        if service.requests_pool is not None:
            await service.requests_pool.close()
            service.requests_pool = None

    async def load_catalogue() -> None:
        """The shipped catalogue into the database (for reports and joins) and memory."""
        offers, lounges = read_offer_rows(), read_lounges()
        async with service.pool.acquire() as conn:
            await upsert_catalogue(conn, service.schema, offers, lounges)
        redemptions.offers = {o.id: o for o in read_offers()}
        redemptions.lounges = {r["lounge_id"]: Lounge(r["lounge_id"], r["name"])
                               for r in lounges}

    async def freeze() -> None:
        # What is alive once started (modules, app, catalogue) stays alive: leave it out of
        # the collector's full passes, which otherwise stall requests for tens of ms.
        gc.freeze()

    for hook in (open_requests_pool, load_catalogue, settlements.start, freeze):
        service.on_start(hook)
    service.on_stop(close_requests_pool)
    service.on_stop(settlements.stop)
    service.every(PRUNE_SECONDS, lambda: prune(
        service.pool, 2 * settings.signature_tolerance_seconds), "pruning")
    #: Tests call it to time out at once.
    service.timeouts = TimeOuts(service=name, pool=LazyPool(service), channel=settlements.channel,
                                bound_seconds=settings.saga_timeout_seconds,
                                batch=settings.saga_timeout_batch)
    service.every(check_every(settings.saga_timeout_seconds), service.timeouts, "saga timeouts")

    partner_auth = PartnerAuth(requests_pool, settings.sealer(),
                               settings.signature_tolerance_seconds)
    api = router(redemptions, partner_auth, MemberAuth(settings.verifier("app")))
    service.http.include_router(api)
    service.http.add_middleware(SignedEntry, router=api)
    service.http.add_exception_handler(Refused, _refused)
    service.http.add_exception_handler(RequestValidationError, _invalid)
    metrics.install(service)  # after SignedEntry: its wrapper sees every partner request
    return service


async def _refused(_request: Request, exc: Refused) -> Response:
    return _json(error(exc))


async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
    return _json(invalid(exc))


def _json(answer) -> Response:
    return Response(answer.content, status_code=answer.status, media_type="application/json")


async def _nothing_to_reset(_conn: asyncpg.Connection) -> None:
    """asyncpg still rolls back a transaction left open; nothing else needs undoing."""
