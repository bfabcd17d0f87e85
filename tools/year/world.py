"""The four services (and, when asked, analytics) and the provider sandbox in this process,
on the real broker and database under names of their own (schemas `<service>_year_<run>`,
topics `year.<run>.`), removed at the end.

Time: notifications runs on a clock the year moves (services/notifications/clock.py), and
so does the sandbox (when it accepted a message). Elsewhere the code that reads the wall
clock for a simulated fact is given the year's clock instead, without editing it:
- accounts: its two consumers' `clock` (what a tier decision counts as today);
- rewards: the recommendations' `now` (offers of the profile's month), and the module
  `datetime` of the redemption, donation, saga and salon handlers (a lounge visit's day,
  when a points-paid one is confirmed, a donation's year, a salon's schedule and answers)
  is one whose now() is the year's; its salon jobs are run here at the year's times;
- points: the monthly spending profiles are run here at the simulated month's start (the
  service's own timer is made idle, and the month it claimed at start is forgotten), the
  expiry job stays idle (no points expire within the year).
Redemption codes are written directly with a wall-clock expiry (the database checks it),
and rewards' saga timeout is set beyond the year (it compares with the database's clock).
Jobs whose timers would run on their own (notifications' scheduled messages and care days,
rewards' salons) are made idle and run by run.py at the simulated times.
Analytics (when asked: programme.py, tests/integration/test_analytics_through_services.py)
dates everything by the events' own times; its monthly calls job, on the wall clock, is made
idle (the calls are in the figures read at the end).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from types import ModuleType

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.envelope import EncodedEvent, encode
from contracts.topics import (
    ASSET_SNAPSHOTS_V1,
    CARD_TRANSACTIONS_V1,
    CUSTOMERS_V1,
    MEMBER_CONTACTS_V1,
    MEMBERS_V1,
    NOTIFICATIONS_V1,
    POINTS_V1,
    REWARDS_V1,
)
from runtime.kafka import delete_topics
from runtime.service import Service
from services.accounts.app import build as accounts_build
from services.accounts.settings import AccountsSettings
from services.analytics.app import CONSUMED as ANALYTICS_CONSUMES
from services.analytics.app import build as analytics_build
from services.analytics.settings import AnalyticsSettings
from services.notifications.app import build as notifications_build
from services.notifications.settings import NotificationsSettings
from services.points.app import build as points_build
from services.points.settings import PointsSettings
from services.rewards.app import build as rewards_build
from services.rewards.domain import codes
from services.rewards.handlers import donations as donations_module
from services.rewards.handlers import redemptions as redemptions_module
from services.rewards.handlers import saga as saga_module
from services.rewards.handlers import salons as salons_module
from services.rewards.settings import RewardsSettings
from simulator.encoding import SOURCE
from simulator.publisher import make_producer
from tools.sandbox.app import Credentials, create_app

#: What each service consumes: quiet means every group has committed all of it.
CONSUMES = {
    "accounts": (CUSTOMERS_V1, ASSET_SNAPSHOTS_V1, NOTIFICATIONS_V1),
    "points": (CARD_TRANSACTIONS_V1, MEMBERS_V1, REWARDS_V1),
    "rewards": (MEMBERS_V1, POINTS_V1),
    "notifications": (MEMBER_CONTACTS_V1, MEMBERS_V1, POINTS_V1, REWARDS_V1),
}
IDLE = 10**7  # seconds: a timer that runs at start only
TOPIC_OF = {"CustomerOnboarded": CUSTOMERS_V1, "CustomerClosed": CUSTOMERS_V1,
            "AssetSnapshotTaken": ASSET_SNAPSHOTS_V1, "CardTransactionPosted": CARD_TRANSACTIONS_V1}


class YearClock:
    """The year's now: stands still until moved (notifications' Clock protocol)."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


def _datetime_on(clock: YearClock) -> type[datetime]:
    class YearDatetime(datetime):
        """datetime, whose now() is the year's."""

        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            moment = clock.now()
            return moment.astimezone(tz) if tz else moment.astimezone().replace(tzinfo=None)
    return YearDatetime


class World:
    def __init__(self, clock: YearClock, analytics: bool = False) -> None:
        self.clock = clock
        #: What each service here consumes (analytics too when asked: tools/year/programme.py).
        self.consumes = dict(CONSUMES)
        if analytics:
            self.consumes["analytics"] = tuple(ANALYTICS_CONSUMES)
        self.run_id = uuid.uuid4().hex[:8]
        self.prefix = f"year.{self.run_id}."
        self.services: dict[str, Service] = {}
        settings = NotificationsSettings(
            wechat_base_url="http://sandbox/wechat", aliyun_base_url="http://sandbox/aliyun/",
            tencent_base_url="http://sandbox/tencent/", sender_poll_seconds=0.2,
            jobs_poll_seconds=IDLE, receipt_lookup_every_seconds=IDLE)
        self.notifications_settings = settings
        self.sandbox_app = create_app(Credentials.of(settings), keep_messages=1_000_000,
                                      receipts_to="http://notifications/callbacks",
                                      clock=lambda: clock.now().timestamp())
        # Stop replies are pushed; delivery receipts are not (WeChat's are signed with the
        # wall clock's time, which the service would compare with the year's).
        self.sandbox.faults.drop_receipts = True
        self._patched: list[tuple[ModuleType, object]] = []
        self._producer = None
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []

    @property
    def sandbox(self):
        return self.sandbox_app.state.sandbox

    def schema(self, service: str) -> str:
        return f"{service}_year_{self.run_id}"

    def topic(self, contract_topic: str) -> str:
        return self.prefix + contract_topic

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        clock, transport = self.clock, httpx.ASGITransport(app=self.sandbox_app)
        builds = {
            "accounts": lambda n: accounts_build(n, self.prefix, AccountsSettings(
                override_check_seconds=IDLE, tier_review_check_seconds=IDLE)),
            "points": lambda n: points_build(n, self.prefix, PointsSettings(
                expiry_check_seconds=IDLE, spending_profile_check_seconds=IDLE)),
            "rewards": lambda n: rewards_build(n, self.prefix, RewardsSettings(
                saga_timeout_seconds=3 * 365 * 86400, saga_wait_seconds=10,
                salon_job_seconds=3600)),
            "notifications": lambda n: notifications_build(
                n, self.prefix, self.notifications_settings, clock=clock, transport=transport),
            # Its monthly calls job reads the wall clock: made idle (figures are read here).
            "analytics": lambda n: analytics_build(n, self.prefix, AnalyticsSettings(
                calls_check_seconds=IDLE)),
        }
        builds = {name: builds[name] for name in self.consumes}
        for name, build in builds.items():
            service = build(self.schema(name))
            self.services[name] = service
            await service.start()
        self._inject_clock()
        self.sandbox_app.state.reporter.transport = httpx.ASGITransport(
            app=self.services["notifications"].http)
        # The month the points service's timer claimed at start (the wall clock's): the
        # year runs its months itself.
        await self.services["points"].pool.execute("DELETE FROM spending_profile_runs")
        bootstrap = self.services["points"].settings.kafka_bootstrap_servers
        self._producer = make_producer(bootstrap)
        await self._producer.start()
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await self._admin.start()
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        await self._consumer.start()
        topics = sorted({self.topic(t) for ts in self.consumes.values() for t in ts})
        for described in await self._admin.describe_topics(topics):
            self._partitions += [TopicPartition(described["topic"], p["partition"])
                                 for p in described["partitions"]]

    def _inject_clock(self) -> None:
        accounts, rewards = self.services["accounts"], self.services["rewards"]
        for processor in (accounts.customer_file, accounts.asset_snapshots):
            processor._handler.clock = self.clock.now  # noqa: SLF001 (the year's today)
        rewards.points._handler.recommend.now = self.clock.now  # noqa: SLF001
        year_datetime = _datetime_on(self.clock)
        for module in (redemptions_module, donations_module, saga_module, salons_module):
            self._patched.append((module, module.datetime))
            module.datetime = year_datetime

    async def stop(self) -> None:
        for module, original in self._patched:
            module.datetime = original
        for closing in (self._producer, self._consumer, self._admin):
            if closing is not None:
                with contextlib.suppress(Exception):
                    await (closing.close() if closing is self._admin else closing.stop())
        for service in reversed(self.services.values()):
            with contextlib.suppress(Exception):
                await service.stop()
        if not self.services:
            return
        settings = next(iter(self.services.values())).settings
        await delete_topics(settings.kafka_bootstrap_servers, self.prefix)
        conn = await asyncpg.connect(settings.database_url)
        try:
            for name in self.services:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema(name)}" CASCADE')
        finally:
            await conn.close()

    # ------------------------------------------------------------------ inputs

    async def publish(self, events: list) -> None:
        """Core-banking events to their (private) topics, in order."""
        futures = []
        for event in events:
            record: EncodedEvent = encode(event, source=SOURCE, id=str(uuid.uuid4()))
            topic = self.topic(TOPIC_OF[type(event).__name__])
            futures.append(await self._producer.send(topic, record.value, key=record.key,
                                                     headers=record.headers))
        await asyncio.gather(*futures)

    async def codes(self, member_id: str) -> str:
        """A redemption code of the member's, as the app would get one (valid by the
        database's clock: it checks the expiry)."""
        rewards = self.services["rewards"]
        code = codes.new_code()
        await rewards.pool.execute(
            "INSERT INTO codes (code_hash, member_id, expires_at) VALUES ($1, $2, $3)",
            codes.code_hash(rewards.settings.pepper(), codes.normalise(code)), member_id,
            datetime.now(UTC) + timedelta(hours=1))
        return code

    # ------------------------------------------------------------------ settling

    async def settle(self, timeout: float = 120.0) -> None:
        """Until every outbox is empty and every group has committed all it consumes, seen
        twice in a row (a batch may be between its commit and its offsets')."""
        deadline = asyncio.get_running_loop().time() + timeout
        quiet = 0
        while quiet < 2:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the services did not settle")
            quiet = quiet + 1 if await self._quiet() else 0
            await asyncio.sleep(0.05)

    async def _quiet(self) -> bool:
        for service in self.services.values():
            if await service.pool.fetchval("SELECT count(*) FROM outbox"):
                return False
        ends = await self._consumer.end_offsets(self._partitions)
        for name, consumed in self.consumes.items():
            committed = await self._admin.list_consumer_group_offsets(self.schema(name))
            mine = {self.topic(t) for t in consumed}
            for tp, end in ends.items():
                if tp.topic in mine and end > (committed[tp].offset if tp in committed else 0):
                    return False
        return True

    async def flush(self) -> None:
        """The sender sends every message due by the year's now."""
        notifications = self.services["notifications"]
        now = self.clock.now()
        while True:
            await notifications.sender.run_once()
            due = await notifications.pool.fetchval(
                "SELECT count(*) FROM messages WHERE state = 'sending'"
                " OR (state = 'queued' AND not_before <= $1)", now)
            if not due:
                return
            await asyncio.sleep(0.05)
