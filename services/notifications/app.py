"""Where messages enter the notifications service, and how it is built.

    at start ------------------> seal_plaintext (reseal.py): contact data of before
                                   migration 0003 sealed
    loyalty.member-contacts.v1 --> OnContacts (handlers/contacts.py)
                                   -> contact projection (sealed, masked)
    loyalty.members.v1  \\
    loyalty.points.v1    >-------> OnMemberEvents (handlers/member_events.py)
    loyalty.rewards.v1  /          -> `messages` rows (queued; goodwill awards get an
                                   apology; the month's offers that fit, one
                                   marketing message; salon invitations, reminders,
                                   seats, cancellations), the day's points summaries
    every JOBS_POLL_SECONDS -----> ScheduledMessages (handlers/scheduled.py)
                                   -> points summaries, birthday greetings (queued)
    every JOBS_POLL_SECONDS -----> CareDays (handlers/care_days.py): festival and
                                   membership anniversary greetings (queued)
    background, woken on commit -> Sender (handlers/sender.py): due rows -> WeChat / SMS
                                   providers -> notification.sent / .failed (and
                                   .delivered for an interrupted send found delivered)
    HTTP /callbacks/* (api.py) --> OnReceipts (handlers/receipts.py)
      authenticated per provider   -> notification.delivered / .failed
                              \\--> OnReplies (handlers/opt_outs.py): SMS stop replies,
                                   WeChat unfollows -> marketing consent cleared here,
                                   notification.opt-out-received (accounts withdraws it)
    every RECEIPT_LOOKUP_EVERY_SECONDS -> ReceiptLookups (handlers/receipt_lookups.py):
                                   SMS sent long ago without a receipt -> the provider
                                   asked -> applied as its receipt would have been

Everything goes out on loyalty.notifications.v1 through the unit of work's outbox.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import httpx

from contracts.accounts.v1 import (
    MemberClosed,
    MemberContactChanged,
    MemberContactErased,
    MemberEnrolled,
    MemberTierChanged,
)
from contracts.points.v1 import PointsEarned, PointsExpiringSoon, PointsGoodwillAwarded
from contracts.rewards.v1 import (
    OffersRecommended,
    RedemptionCancelled,
    RedemptionConfirmed,
    SalonInvited,
    SalonReminderDue,
    SalonRsvpChanged,
)
from contracts.topics import MEMBER_CONTACTS_V1, MEMBERS_V1, NOTIFICATIONS_V1, POINTS_V1, REWARDS_V1
from runtime.service import Service

from . import metrics
from .api import receipts_router
from .clock import Clock, SystemClock
from .contact_hashes import hash_contacts
from .domain.delivery import RetryPolicy
from .domain.opt_out import StopKeywords
from .domain.schedule import Rules
from .handlers.care_days import CareDays
from .handlers.contacts import OnContacts
from .handlers.member_events import OnMemberEvents
from .handlers.opt_outs import OnReplies
from .handlers.queue import Queue
from .handlers.receipt_lookups import ReceiptLookups
from .handlers.receipts import OnReceipts
from .handlers.scheduled import ScheduledMessages
from .handlers.sender import Sender
from .providers.aliyun_sms import AliyunSms
from .providers.base import SmsProvider
from .providers.http import Http, HttpxHttp
from .providers.tencent_sms import TencentSms
from .providers.tracing import TracedHttp
from .providers.transport import KeepAliveTransport
from .providers.wechat import WechatOfficialAccount
from .reseal import seal_plaintext
from .settings import NotificationsSettings, load_templates, load_tier_rule

PACKAGE_DIR = Path(__file__).parent
# httpx logs every request URL at INFO; WeChat's token URL carries the app secret.
logging.getLogger("httpx").setLevel(logging.WARNING)


def build(name: str = "notifications", topic_prefix: str = "",
          settings: NotificationsSettings | None = None, *, clock: Clock | None = None,
          transport: httpx.AsyncBaseTransport | None = None) -> Service:
    """`name` is the schema and consumer group; tests pass their own, a prefix for private
    topics, a fake clock, and a transport reaching an in-process sandbox."""
    settings = settings or NotificationsSettings()  # outside dev, refuses sandbox and dev keys
    settings.warn_if_development()
    clock = clock or SystemClock()
    templates = load_templates()  # a bad template stops the start here
    rules = Rules(quiet_start=settings.quiet_start, quiet_end=settings.quiet_end,
                  daily_cap=settings.daily_cap, summary_at=settings.summary_at,
                  birthday_at=settings.birthday_at, care_days_at=settings.care_days_at)
    sealer = settings.sealer()
    current, retired = settings.contact_keys()
    service = Service(name, settings=settings, package_dir=PACKAGE_DIR,
                      publishes=[NOTIFICATIONS_V1], topic_prefix=topic_prefix)

    http: Http = TracedHttp(  # each request a CLIENT span inside its provider call's
        HttpxHttp(httpx.AsyncClient(transport=transport,
                                    timeout=settings.provider_timeout_seconds))
        if transport is not None else
        KeepAliveTransport(max_connections=settings.sender_concurrency,
                           timeout=settings.provider_timeout_seconds))
    service.on_stop(http.aclose)
    wechat = WechatOfficialAccount(
        client=http, base_url=settings.wechat_base_url, app_id=settings.wechat_app_id,
        app_secret=settings.wechat_app_secret.get_secret_value())
    sms: SmsProvider
    if settings.sms_provider == "tencent":
        sms = TencentSms(
            client=http, base_url=settings.tencent_base_url,
            secret_id=settings.tencent_secret_id,
            secret_key=settings.tencent_secret_key.get_secret_value(),
            sdk_app_id=settings.tencent_sms_app_id, sign_name=settings.sms_sign_name)
    else:
        sms = AliyunSms(
            client=http, base_url=settings.aliyun_base_url,
            access_key_id=settings.aliyun_access_key_id,
            access_key_secret=settings.aliyun_access_key_secret.get_secret_value(),
            sign_name=settings.sms_sign_name)

    service.sender = sender = Sender(
        unit_of_work=service.unit_of_work, clock=clock, templates=templates,
        sign_name=settings.sms_sign_name, sealer=sealer, wechat=wechat, sms=sms,
        policy=RetryPolicy(max_attempts=settings.retry_max_attempts,
                           base=timedelta(seconds=settings.retry_base_seconds),
                           cap=timedelta(seconds=settings.retry_cap_seconds)),
        batch_size=settings.sender_batch_size, concurrency=settings.sender_concurrency,
        workers=settings.sender_workers, poll_seconds=settings.sender_poll_seconds,
        contact_wait=timedelta(seconds=settings.contact_wait_seconds),
        # a batch's calls: a token fetch, WeChat, then SMS, each up to the timeout
        lease=timedelta(seconds=4 * settings.provider_timeout_seconds + 10))
    for _ in range(settings.sender_workers):  # they skip each other's rows
        service.background(sender.run)

    queue = Queue(templates, rules, settings.sms_sign_name, sealer)
    service.jobs = jobs = ScheduledMessages(
        unit_of_work=service.unit_of_work, clock=clock, queue=queue, rules=rules,
        lock_name=f"{service.schema}.jobs", on_queued=sender.wake)
    service.every(settings.jobs_poll_seconds, jobs.run_once, "scheduled messages")
    service.care_days = care_days = CareDays(
        unit_of_work=service.unit_of_work, clock=clock, queue=queue, rules=rules,
        sealer=sealer, lock_name=f"{service.schema}.care-days", on_queued=sender.wake,
        batch_size=settings.care_days_batch_size)
    service.every(settings.jobs_poll_seconds, care_days.run_once, "care days")
    service.receipt_lookups = lookups = ReceiptLookups(
        unit_of_work=service.unit_of_work, clock=clock, sealer=sealer, sms=sms,
        after=timedelta(seconds=settings.receipt_lookup_after_seconds),
        max_lookups=settings.receipt_lookup_max, batch_size=settings.receipt_lookup_batch)
    service.every(settings.receipt_lookup_every_seconds, lookups.run_once, "receipt lookups")
    metrics.install(service)
    # Before the consumers and jobs: contacts of before migration 0003 sealed.
    service.on_start(lambda: seal_plaintext(service.pool, sealer, [current, *retired]))
    hash_key = settings.contact_hash_key_bytes()
    service.on_start(lambda: hash_contacts(service.pool, sealer, hash_key))  # before 0008

    on_events = OnMemberEvents(queue, rules, clock, load_tier_rule(settings.tiers_file))
    service.processors = {
        MEMBER_CONTACTS_V1: service.subscribe(
            MEMBER_CONTACTS_V1, OnContacts(sealer, clock, hash_key),
            consumes=[MemberContactChanged, MemberContactErased]),
        MEMBERS_V1: service.subscribe(MEMBERS_V1, on_events,
                                      consumes=[MemberEnrolled, MemberTierChanged,
                                                MemberClosed]),
        POINTS_V1: service.subscribe(POINTS_V1, on_events,
                                     consumes=[PointsEarned, PointsExpiringSoon,
                                               PointsGoodwillAwarded]),
        REWARDS_V1: service.subscribe(REWARDS_V1, on_events,
                                      consumes=[RedemptionConfirmed, RedemptionCancelled,
                                                OffersRecommended, SalonInvited,
                                                SalonReminderDue, SalonRsvpChanged]),
    }
    for topic in (MEMBERS_V1, POINTS_V1, REWARDS_V1):
        service.processors[topic].after_commit.append(sender.wake)

    replies = OnReplies(service.unit_of_work, StopKeywords.of(settings.stop_keywords), hash_key)
    service.http.include_router(receipts_router(OnReceipts(service.unit_of_work, clock),
                                                settings, replies, clock.now))
    return service
