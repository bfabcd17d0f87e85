"""Where messages enter the notifications service: its subscribers, and how it is built.

    loyalty.member-contacts.v1 --> OnContacts (handlers.py) -> contact projection (sealed)
    loyalty.members.v1  \\
    loyalty.points.v1    >-----> OnMemberEvents (handlers.py) -> `messages` rows (queued)
    loyalty.rewards.v1  /
    jobs.py (daily summaries, birthdays)          ----------> `messages` rows (queued)
    sender.py: due rows -> WeChat / SMS providers -> notification.sent / .failed (outbox)
    api.py: delivery receipts -> notification.delivered / .failed (outbox)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from pathlib import Path

import httpx
from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from contracts.accounts.v1 import (
    MemberClosed,
    MemberContactChanged,
    MemberContactErased,
    MemberTierChanged,
)
from contracts.points.v1 import PointsEarned, PointsExpiringSoon
from contracts.registry import models_on
from contracts.rewards.v1 import RedemptionCancelled, RedemptionConfirmed
from contracts.topics import MEMBER_CONTACTS_V1, MEMBERS_V1, NOTIFICATIONS_V1, POINTS_V1, REWARDS_V1
from runtime.kafka import record_lag
from runtime.service import Service

from .api import ReceiptBook, receipts_router
from .catalogue import load_templates
from .clock import Clock, SystemClock
from .crypto import ContactCipher
from .domain.delivery import RetryPolicy
from .domain.schedule import Rules
from .handlers import OnContacts, OnMemberEvents
from .jobs import Jobs
from .providers.aliyun_sms import AliyunSms
from .providers.http import HttpxHttp
from .providers.tencent_sms import TencentSms
from .providers.transport import KeepAliveTransport
from .providers.wechat import WechatOfficialAccount
from .queueing import Queue
from .sender import Sender
from .settings import NotificationsSettings

PACKAGE_DIR = Path(__file__).parent
log = logging.getLogger(__name__)
# httpx logs every request URL at INFO; WeChat's token URL carries the app secret.
logging.getLogger("httpx").setLevel(logging.WARNING)

#: What each input topic carries that members hear about; the rest is skipped.
HANDLED = {
    MEMBERS_V1: {MemberTierChanged, MemberClosed},
    POINTS_V1: {PointsEarned, PointsExpiringSoon},
    REWARDS_V1: {RedemptionConfirmed, RedemptionCancelled},
}


class NotificationsService(Service):
    """A service plus its sender workers and scheduled jobs, started and stopped with it."""

    sender: Sender
    jobs: Jobs

    def __init__(self, *args, background, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._background = background
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        # The sender needs the database, not the consumers: start it as soon as the
        # migrations ran (the relay exists), not after the consumer group has settled.
        starting = asyncio.create_task(super().start())
        while self.relay is None and not starting.done():
            await asyncio.sleep(0.01)
        if self.relay is not None:
            self._tasks = self._background(self)
        try:
            await starting
        except BaseException:
            await self._stop_background()
            raise

    async def _stop_background(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def stop(self) -> None:
        await self._stop_background()
        await self.http_client.aclose()
        await super().stop()


def build(name: str = "notifications", topic_prefix: str = "",
          settings: NotificationsSettings | None = None, *, clock: Clock | None = None,
          transport: httpx.AsyncBaseTransport | None = None,
          run_background: bool = True) -> NotificationsService:
    """`name` is the schema and consumer group; tests pass their own, a prefix for private
    topics, a fake clock, and a transport reaching an in-process sandbox. With
    `run_background=False` the sender and jobs only run when a test calls them."""
    settings = settings or NotificationsSettings()
    clock = clock or SystemClock()
    templates = load_templates()  # a bad template stops the start here
    rules = Rules(quiet_start=settings.quiet_start, quiet_end=settings.quiet_end,
                  daily_cap=settings.daily_cap, summary_at=settings.summary_at,
                  birthday_at=settings.birthday_at)
    cipher = ContactCipher(settings.contact_key)
    queue = Queue(templates, rules, settings.sms_sign_name)

    def background(service: NotificationsService) -> list[asyncio.Task]:
        service.sender = Sender(
            pool=service.pool, clock=clock, templates=templates,
            sign_name=settings.sms_sign_name, cipher=cipher, wechat=wechat, sms=sms,
            policy=RetryPolicy(max_attempts=settings.retry_max_attempts,
                               base=timedelta(seconds=settings.retry_base_seconds),
                               cap=timedelta(seconds=settings.retry_cap_seconds)),
            batch_size=settings.sender_batch_size, concurrency=settings.sender_concurrency,
            poll_seconds=settings.sender_poll_seconds,
            contact_wait=timedelta(seconds=settings.contact_wait_seconds))
        service.jobs = Jobs(pool=service.pool, clock=clock, queue=queue, rules=rules,
                            lock_name=f"{service.schema}.jobs",
                            poll_seconds=settings.jobs_poll_seconds,
                            on_queued=service.sender.wake)
        if not run_background:
            return []
        tasks = [asyncio.create_task(service.sender.run(), name=f"{service.name}-sender-{i}")
                 for i in range(settings.sender_workers)]
        tasks.append(asyncio.create_task(service.jobs.run(), name=f"{service.name}-jobs"))
        return tasks

    service = NotificationsService(name, settings=settings, package_dir=PACKAGE_DIR,
                                   publishes=[NOTIFICATIONS_V1], topic_prefix=topic_prefix,
                                   background=background)
    service.clock = clock
    service.http_client = http = (
        HttpxHttp(httpx.AsyncClient(transport=transport,
                                    timeout=settings.provider_timeout_seconds))
        if transport is not None else
        KeepAliveTransport(max_connections=settings.sender_concurrency,
                           timeout=settings.provider_timeout_seconds))
    wechat = WechatOfficialAccount(client=http, base_url=settings.wechat_base_url,
                                   app_id=settings.wechat_app_id,
                                   app_secret=settings.wechat_app_secret)
    if settings.sms_provider == "tencent":
        sms = TencentSms(client=http, base_url=settings.tencent_base_url,
                         secret_id=settings.tencent_secret_id,
                         secret_key=settings.tencent_secret_key,
                         sdk_app_id=settings.tencent_sms_app_id,
                         sign_name=settings.sms_sign_name)
    else:
        sms = AliyunSms(client=http, base_url=settings.aliyun_base_url,
                        access_key_id=settings.aliyun_access_key_id,
                        access_key_secret=settings.aliyun_access_key_secret,
                        sign_name=settings.sms_sign_name)
    service.wechat, service.sms = wechat, sms

    def wake_sender(_report) -> None:
        with contextlib.suppress(AttributeError):  # before start: nothing to wake
            service.sender.wake()

    # One subscriber for all four topics: one consumer in the group (no rebalancing
    # between our own consumers at start), and contacts applied before the events of the
    # same poll that need them.
    processors = {MEMBER_CONTACTS_V1: service.processor(
        MEMBER_CONTACTS_V1, group=name, handler=OnContacts(cipher, clock),
        models={m.ce_type: m for m in (MemberContactChanged, MemberContactErased)})}
    on_events = OnMemberEvents(queue, rules, clock)
    for topic, models in HANDLED.items():
        processors[topic] = proc = service.processor(
            topic, group=name, handler=on_events, models={m.ce_type: m for m in models},
            ignored_types=set(models_on(topic)) - {m.ce_type for m in models})
        proc.after_commit.append(wake_sender)
    service.processors = processors
    by_kafka_name = {service.topic(t): t for t in processors}

    @service.broker.subscriber(*by_kafka_name, group_id=name,
                               ack_policy=AckPolicy.NACK_ON_ERROR, **service.batch_options())
    async def on_batch(message: KafkaMessage) -> None:
        raw = message.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        by_topic: dict[str, list] = {t: [] for t in processors}  # contacts first
        for record in records:
            by_topic[by_kafka_name[record.topic]].append(record)
        for topic, batch in by_topic.items():
            if batch:
                await processors[topic].process(batch)
        record_lag(message.consumer, records, name)

    service.http.include_router(receipts_router(ReceiptBook(lambda: service.pool, clock),
                                                settings.wechat_callback_token))
    if settings.sandbox_enabled:
        from .sandbox.app import Credentials, create_app  # development only

        service.http.mount("/sandbox", create_app(
            Credentials.of(settings), receipts_to=f"http://127.0.0.1:{settings.http_port}/callbacks",
            callback_token=settings.wechat_callback_token))
    return service

