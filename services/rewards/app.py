"""Where messages and requests enter the rewards service, and how it is assembled.

    loyalty.members.v1 --(batches)--> project_members (handlers/members.py)
        -> the members projection (tier, closed)
    loyalty.points.v1  --(batches)--> SettleRedemptions (handlers/saga.py)
        -> redemption confirmed / rejected on loyalty.rewards.v1, the waiting request's
           answer stored and NOTIFYed (settlements.py); a debit that landed after the
           redemption timed out or was cancelled -> redemption refund-requested
    loyalty.points.v1  --(points.spending-profiled)--> Recommendations
        (handlers/recommendations.py): up to three offers that fit the member's tier, city
        and spending, once per member and month -> offers.recommended on loyalty.rewards.v1
    HTTP POST /v1/redemptions/lounge-visits, /offers, /{id}/cancel (api.py, signed)
        -> Redemptions (handlers/redemptions.py): load, decide (domain/), save, emit
        -> redemption requested / confirmed / cancelled on loyalty.rewards.v1
    HTTP GET /v1/redemptions..., /v1/app/... (api.py) -> reads, codes, entitlements
    HTTP POST /v1/app/members/{id}/donations (api.py, the member's token) -> Donations
        (handlers/donations.py): points given to a charity partner (charities.toml), a
        redemption of its own kind -> redemption requested, then the saga as above
    HTTP /v1/staff/catalogue/... (api.py, staff token with CATALOGUE_ROLE) -> Catalogue
        (handlers/catalogue.py): an offer or lounge created, changed or withdrawn, audited
        -> catalogue entry changed on loyalty.rewards.v1 (keyed by partner)
    HTTP GET /v1/catalogue..., /v1/app/members/{id}/catalogue/... -> the catalogue's view
    HTTP /v1/staff/salons/... (salon_routes.py, staff token with SALONS_ROLE) -> Salons
        (handlers/salons.py): a member event scheduled, changed or cancelled, audited ->
        salon.changed; the host's check-in with a guest's code -> salon.attended
    HTTP /v1/app/members/{id}/salons... (the member's token) -> Salons: accept (a seat or
        the waitlist) or decline (the first waiting promoted) -> salon.rsvp-changed
    every SALON_JOB_SECONDS -> Salons: eligible members invited once -> salon.invited;
        the day before, each guest who accepted -> salon.reminder-due
    every CATALOGUE_REFRESH_SECONDS -> the view reloads what changed in the database since
        its version (every instance: the database is the catalogue's truth)
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
from contracts.points.v1 import (
    PointsDebited,
    PointsDebitRejected,
    PointsRefunded,
    PointsSpendingProfiled,
)
from contracts.topics import MEMBERS_V1, POINTS_V1, REWARDS_V1
from runtime.auth import MemberAuth, StaffAuth
from runtime.service import LazyPool, Service

from . import metrics
from .api import SignedEntry, catalogue_router, donations_router, invalid, router
from .auth import PartnerAuth
from .domain.errors import Refused
from .handlers.catalogue import Catalogue
from .handlers.donations import Donations
from .handlers.members import project_members
from .handlers.points import OnPoints
from .handlers.pruning import PRUNE_SECONDS, prune
from .handlers.recommendations import Recommendations
from .handlers.redemptions import Redemptions
from .handlers.saga import SettleRedemptions
from .handlers.salons import Salons
from .handlers.timeouts import TimeOuts, check_every
from .salon_routes import salons_router
from .schemas import error
from .settings import (
    RewardsSettings,
    load_benefits,
    load_charities,
    read_lounges,
    read_offer_rows,
)
from .settlements import Settlements
from .sql.catalogue import seed

PACKAGE_DIR = Path(__file__).parent


def build(name: str = "rewards", topic_prefix: str = "",
          settings: RewardsSettings | None = None) -> Service:
    """`name` is the schema and the consumer group; tests pass their own, and a prefix for
    private topics, to stay apart."""
    settings = settings or RewardsSettings()
    benefits = load_benefits(settings.benefits_file)  # a bad file stops the start here
    charities = load_charities(settings.charities_file)  # so does a bad charities file
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
    service.donations = donations = Donations(
        service=name, pool=requests_pool, charities=charities, zone=benefits.zone,
        settlements=settlements, saga_wait=settings.saga_wait_seconds)

    # Tests watch the processors' commits.
    service.members = service.subscribe(
        MEMBERS_V1, project_members, consumes=[MemberEnrolled, MemberTierChanged, MemberClosed])
    service.points = service.subscribe(
        POINTS_V1, OnPoints(SettleRedemptions(settlements.channel),
                            Recommendations(redemptions.catalogue, benefits.zone)),
        consumes=[PointsDebited, PointsDebitRejected, PointsRefunded, PointsSpendingProfiled])

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

    service.catalogue = catalogue = Catalogue(service=name, pool=LazyPool(service),
                                              view=redemptions.catalogue)

    async def load_catalogue() -> None:
        """The demo files into a database never seeded, then the catalogue into memory."""
        async with service.pool.acquire() as conn:
            await seed(conn, service.schema, read_offer_rows(), read_lounges())
        await catalogue.refresh()

    async def freeze() -> None:
        # What is alive once started (modules, app, catalogue) stays alive: leave it out of
        # the collector's full passes, which otherwise stall requests for tens of ms.
        gc.freeze()

    for hook in (open_requests_pool, load_catalogue, settlements.start, freeze):
        service.on_start(hook)
    service.on_stop(close_requests_pool)
    service.on_stop(settlements.stop)
    service.every(settings.catalogue_refresh_seconds, catalogue.refresh, "catalogue refresh")
    service.every(PRUNE_SECONDS, lambda: prune(
        service.pool, 2 * settings.signature_tolerance_seconds), "pruning")
    #: Tests call it to time out at once.
    service.timeouts = TimeOuts(service=name, pool=LazyPool(service), channel=settlements.channel,
                                bound_seconds=settings.saga_timeout_seconds,
                                batch=settings.saga_timeout_batch)
    service.every(check_every(settings.saga_timeout_seconds), service.timeouts, "saga timeouts")

    partner_auth = PartnerAuth(requests_pool, settings.sealer(),
                               settings.signature_tolerance_seconds)
    members = MemberAuth(settings.verifier("app"))
    api = router(redemptions, partner_auth, members)
    service.http.include_router(api)
    staff = StaffAuth(settings.verifier("staff"), id_claim=settings.staff_id_claim,
                      roles_claim=settings.staff_roles_claim, staff_role=settings.staff_role)
    service.http.include_router(catalogue_router(catalogue, redemptions, partner_auth, members,
                                                 staff, settings.catalogue_role))
    service.http.include_router(donations_router(donations, members))
    service.salons = salons = Salons(service=name, pool=LazyPool(service))
    service.http.include_router(salons_router(salons, members, staff, settings.salons_role))
    service.every(settings.salon_job_seconds, salons.invite, "salon invitations")
    service.every(settings.salon_job_seconds, salons.remind, "salon reminders")
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
