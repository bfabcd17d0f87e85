"""Where messages and requests enter the rewards service, and how it is assembled.

    loyalty.members.v1 --(batches)--> project_members (handlers.py) -> members projection
    loyalty.points.v1  --(batches)--> SettleRedemptions (handlers.py)
        -> redemption confirmed/rejected on loyalty.rewards.v1 (outbox) + NOTIFY waiters
    HTTP /v1 (api.py) -> Redemptions (redemptions.py): decide, record, emit, wait
        -> redemption requested/confirmed/cancelled on loyalty.rewards.v1 (outbox)
    HTTP POST /v1/redemptions/lounge-visits and /offers first meet FastPath (fast_path.py):
        a lounge visit inside the allowance in one database call, an offer through
        redemptions.py without FastAPI; whatever they cannot answer goes on to api.py
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from pathlib import Path

import asyncpg
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from contracts.accounts.v1 import MemberClosed, MemberEnrolled, MemberTierChanged, MemberUpdated
from contracts.points.v1 import (
    PointsDebited,
    PointsDebitRejected,
    PointsEarned,
    PointsExpired,
    PointsExpiringSoon,
    PointsForfeited,
    PointsRefunded,
    PointsReversed,
)
from contracts.topics import MEMBERS_V1, POINTS_V1, REWARDS_V1
from runtime.periodic import repeat
from runtime.service import LazyPool, Service

from . import rewards_sql
from .api import router
from .auth import AppAuth, PartnerAuth
from .domain.errors import Refused
from .fast_path import FastPath
from .handlers import SettleRedemptions, project_members
from .programme import load_benefits, read_lounges, read_offer_rows, read_offers
from .redemptions import Redemptions
from .settings import RewardsSettings
from .waiter import Settlements

PACKAGE_DIR = Path(__file__).parent
log = logging.getLogger(__name__)
#: Replayable nonces live twice the timestamp tolerance; pruned this often.
PRUNE_SECONDS = 60


class RewardsService(Service):
    """A Service plus what lives beside the HTTP requests: the catalogue held in memory,
    the settlement listener and the pruning of nonces and old keys."""

    redemptions: Redemptions
    settlements: Settlements
    #: The HTTP requests' connections. Handed back without the reset round trip a pooled
    #: connection normally costs (asyncpg still rolls back a transaction left open): request
    #: code sets no session state (no SET, LISTEN, session locks or cursors). The consumers
    #: and the relay keep the runtime's pool. All opened at start: a connection opened under
    #: load (SCRAM authentication, then each statement planned anew) held the first seconds
    #: of a 1,000 requests/s run at p99 450-880 ms.
    requests_pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        await super().start()
        self.requests_pool = await asyncpg.create_pool(
            self.settings.database_url, min_size=self.settings.db_pool_max,
            max_size=self.settings.db_pool_max,
            server_settings={"search_path": self.schema,
                             "application_name": f"loyalty-{self.schema}-requests"},
            reset=_nothing_to_reset)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                               f"{self.schema}.catalogue")
            await rewards_sql.upsert_catalogue(conn, read_offer_rows(), read_lounges())
        self.redemptions.offers = {o.id: o for o in read_offers()}
        _, lounges = await rewards_sql.catalogue(self.pool)
        self.redemptions.lounges = {row["id"]: row for row in lounges}
        await self.settlements.start()
        self._pruner = asyncio.create_task(self._prune(), name=f"{self.name}-prune")
        # What is alive once started (modules, app, catalogue) stays alive: leave it out of
        # the collector's full passes, which otherwise stall requests for tens of ms.
        gc.freeze()

    async def stop(self) -> None:
        if getattr(self, "_pruner", None):
            self._pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruner
        await self.settlements.stop()
        if self.requests_pool is not None:
            await self.requests_pool.close()
            self.requests_pool = None
        await super().stop()

    async def _prune(self) -> None:
        await repeat(lambda: rewards_sql.prune(
            self.pool, 2 * self.settings.signature_tolerance_seconds), PRUNE_SECONDS, "pruning")


def build(name: str = "rewards", topic_prefix: str = "",
          settings: RewardsSettings | None = None) -> RewardsService:
    settings = settings or RewardsSettings()
    benefits = load_benefits(settings.benefits_file)  # a bad file stops the start here
    service = RewardsService(name, settings=settings, package_dir=PACKAGE_DIR,
                             publishes=[REWARDS_V1], topic_prefix=topic_prefix)
    service.settlements = Settlements(settings.database_url, name)
    service.redemptions = Redemptions(
        pool=LazyPool(service, "requests_pool"), benefits=benefits, pepper=settings.pepper(),
        settlements=service.settlements, saga_wait=settings.saga_wait_seconds)

    members = service.processor(
        MEMBERS_V1, group=name, handler=project_members,
        models={m.ce_type: m for m in (MemberEnrolled, MemberTierChanged, MemberClosed)},
        ignored_types={MemberUpdated.ce_type})  # nothing in it matters to rewards

    @service.broker.subscriber(service.topic(MEMBERS_V1), group_id=name,
                               ack_policy=AckPolicy.NACK_ON_ERROR, **service.batch_options())
    async def on_members(message: KafkaMessage) -> None:
        await members.consume(message)

    points = service.processor(
        POINTS_V1, group=name, handler=SettleRedemptions(service.settlements.channel),
        models={m.ce_type: m for m in (PointsDebited, PointsDebitRejected, PointsRefunded)},
        ignored_types={m.ce_type for m in (PointsEarned, PointsReversed, PointsExpired,
                                           PointsExpiringSoon, PointsForfeited)})

    @service.broker.subscriber(service.topic(POINTS_V1), group_id=name,
                               ack_policy=AckPolicy.NACK_ON_ERROR, **service.batch_options())
    async def on_points(message: KafkaMessage) -> None:
        await points.consume(message)

    service.members_processor, service.points_processor = members, points  # tests watch them
    partner_auth = PartnerAuth(LazyPool(service, "requests_pool"), settings.encryption_key(),
                               settings.signature_tolerance_seconds)
    service.http.include_router(router(service.redemptions, partner_auth,
                                       AppAuth(settings.app_token)))
    service.http.add_middleware(FastPath, redemptions=service.redemptions,
                                auth=partner_auth, pool=lambda: service.requests_pool)
    service.http.add_exception_handler(Refused, _refused)
    service.http.add_exception_handler(RequestValidationError, _invalid)
    return service


async def _refused(_request: Request, exc: Refused) -> JSONResponse:
    return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)


async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return JSONResponse({"code": "invalid_request", "message": where[:500]}, status_code=422)


async def _nothing_to_reset(_conn: asyncpg.Connection) -> None:
    """asyncpg still rolls back a transaction left open; nothing else needs undoing."""
