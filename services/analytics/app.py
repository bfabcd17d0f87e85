"""Where everything enters the analytics service: its subscriptions, its jobs and routes.

    loyalty.members.v1               -> OnMembers (handlers/members.py)
        enrolments, closures, tier changes    -> members, tier_changes
    corebanking.card-transactions.v1 -> OnActivity (handlers/activity.py)
        purchases and refunds                 -> member_months (spend)
    corebanking.asset-snapshots.v1   -> OnActivity: the month's assets
    loyalty.points.v1                -> OnActivity: points issued, redeemed, expired,
                                        forfeited
    loyalty.notifications.v1         -> OnActivity: messages sent, delivered, opt-outs
    loyalty.rewards.v1               -> OnRewards (handlers/rewards.py)
        confirmed redemptions, salons attended -> redemptions, member_months
    every calls_check_seconds        -> MonthlyCalls (handlers/calls.py), once a month
        (from CALLS_FROM_DAY: the month's asset snapshots come after it ends)
        members entering decline, top-value members whose spend dropped
                                              -> analytics.call-suggested
    HTTP /staff/analytics/…, /staff/report (api.py)
        the measures (domain/, docs/analytics.md) as JSON; the report as HTML or CSV

Every month is the business month (Asia/Shanghai) of the event's own time, so a replay
from the earliest offsets (rebuild.py) writes the same read models. Published on
loyalty.analytics.v1 through the outbox; other event types on the topics are skipped.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from contracts.accounts.v1 import MemberClosed, MemberEnrolled, MemberTierChanged
from contracts.base import Event
from contracts.topics import ANALYTICS_V1, MEMBERS_V1, REWARDS_V1
from runtime.auth import StaffAuth
from runtime.service import Service

from . import api, metrics
from .domain.activity import COUNTED
from .domain.months import ZONE
from .handlers.activity import OnActivity
from .handlers.calls import MonthlyCalls
from .handlers.members import OnMembers
from .handlers.rewards import OnRewards
from .settings import AnalyticsSettings

PACKAGE_DIR = Path(__file__).parent
#: The topics consumed and what of each (rebuild.py rewinds the group on them): the member
#: events, and every type that counts in member_months, on its own topic.
CONSUMED: dict[str, list[type[Event]]] = {
    MEMBERS_V1: [MemberEnrolled, MemberClosed, MemberTierChanged]}
for _model in COUNTED:
    CONSUMED.setdefault(_model.topic, []).append(_model)

def build(name: str = "analytics", topic_prefix: str = "",
          settings: AnalyticsSettings | None = None) -> Service:
    """`name` is the schema and the consumer group; tests pass their own, and a prefix for
    private topics, to stay apart."""
    settings = settings or AnalyticsSettings()
    model, cities = settings.model(), settings.cities()
    service = Service(name, settings=settings, package_dir=PACKAGE_DIR,
                      publishes=[ANALYTICS_V1], topic_prefix=topic_prefix)
    handlers = {MEMBERS_V1: OnMembers(), REWARDS_V1: OnRewards()}
    #: The processors, by topic, for tests to watch their commits.
    service.processors = {
        topic: service.subscribe(topic, handlers.get(topic, OnActivity()), consumes=types)
        for topic, types in CONSUMED.items()}

    #: Tests run it for a month of their choosing.
    service.calls = calls = MonthlyCalls(model, cities, settings.report_months,
                                         settings.calls_from_day)

    async def last_months_calls() -> None:
        await calls.run(service.unit_of_work, datetime.now(ZONE))

    service.every(settings.calls_check_seconds, last_months_calls, "monthly calls")
    metrics.install(service)

    staff = StaffAuth(settings.verifier("staff"), id_claim=settings.staff_id_claim,
                      roles_claim=settings.staff_roles_claim, staff_role=settings.staff_role)
    service.http.include_router(api.routes(staff, lambda: service.pool, model, cities,
                                           settings.report_months))
    return service
