"""Where everything enters the points service: its subscriptions, its job and its routes.

    corebanking.card-transactions.v1 -> OnCardTransactions (handlers/card_transactions.py)
        purchases earn, refunds reverse       -> points.earned / points.reversed
        (late ones of a closed member trued up -> points.forfeited / forfeiture-returned)
    loyalty.members.v1               -> OnMemberEvents (handlers/members.py)
        tier changes set the multiplier and re-rate purchases of the days they change
                                              -> points.rerated
        a closed member forfeits              -> points.forfeited
        (purchases and refunds dated after the closure re-rated to count nothing first;
        a late tier change moves a closed ledger -> points.forfeited / forfeiture-returned)
    loyalty.rewards.v1               -> OnRedemptions (handlers/redemptions.py)
        debit requests, cancellations and refund requests (a late debit given back)
                                              -> points.debited / debit-rejected / refunded
        (a refund after the member closed is forfeited at once -> points.forfeited)
    every expiry_check_seconds       -> ExpiryJob (handlers/expiry.py), in chunks
        lots past their date, lots soon due   -> points.expired / points.expiring-soon
        refunds whose purchase did not come   -> the card-transaction dead-letter topic
                                                 (they stay parked for their purchase)
    every spending_profile_check_seconds -> SpendingProfiles (handlers/spending.py), once
        a month: purchases of the 90 days before, by the catalogue's industries, and the
        city bought in most (the earnings' merchant cities)
                                              -> points.spending-profiled
    HTTP GET /v1/members/{id}/balance, /history (api.py)
    HTTP /staff/campaigns (api.py)   -> Campaigns (handlers/campaigns.py)
        staff add, change and end campaigns (audited); every handler rates with the
        campaigns in force at its batch (CurrentRules); /staff/earning/preview
    HTTP /staff/goodwill (api.py) -> Goodwill (handlers/goodwill.py)
        staff award goodwill points for a complaint, at once or (above the threshold)
        once a second staff member approves -> points.goodwill-awarded

Everything goes out on loyalty.points.v1 through the outbox; other event types on the
consumed topics are skipped.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from contracts.accounts.v1 import MemberClosed, MemberTierChanged
from contracts.corebanking.v1 import CardTransactionPosted, CardTransactionRefunded
from contracts.rewards.v1 import (
    RedemptionCancelled,
    RedemptionRefundRequested,
    RedemptionRequested,
)
from contracts.topics import CARD_TRANSACTIONS_V1, MEMBERS_V1, POINTS_V1, REWARDS_V1
from runtime.auth import MemberAuth, StaffAuth
from runtime.service import Service

from . import api, metrics
from .handlers.campaigns import Campaigns, CurrentRules
from .handlers.card_transactions import OnCardTransactions
from .handlers.expiry import ExpiryJob
from .handlers.goodwill import Goodwill
from .handlers.members import OnMemberEvents
from .handlers.redemptions import OnRedemptions
from .handlers.spending import SpendingProfiles
from .settings import PointsSettings, load_rules

PACKAGE_DIR = Path(__file__).parent
log = logging.getLogger(__name__)


def build(name: str = "points", topic_prefix: str = "",
          settings: PointsSettings | None = None) -> Service:
    """`name` is the schema and the consumer group; tests pass their own, and a prefix for
    private topics, to stay apart."""
    settings = settings or PointsSettings()
    rules = load_rules(settings.programme_file)  # a bad programme file stops the start here
    current = CurrentRules(rules)  # the file's rules with the campaigns stored now
    service = Service(name, settings=settings, package_dir=PACKAGE_DIR, publishes=[POINTS_V1],
                      topic_prefix=topic_prefix)

    # The processors are kept on the service for tests to watch their commits.
    service.card_transactions = service.subscribe(
        CARD_TRANSACTIONS_V1, OnCardTransactions(current),
        consumes=[CardTransactionPosted, CardTransactionRefunded],
        consumers=settings.card_consumers, inbox=False)  # deduplicated by business key
    service.members = service.subscribe(MEMBERS_V1, OnMemberEvents(current),
                                        consumes=[MemberTierChanged, MemberClosed])
    service.redemptions = service.subscribe(REWARDS_V1, OnRedemptions(rules),
                                            consumes=[RedemptionRequested, RedemptionCancelled,
                                                      RedemptionRefundRequested])

    expiry = ExpiryJob(announce_days=settings.expiry_notice_days,
                       refund_wait_seconds=settings.refund_wait_seconds)

    async def expire_today() -> None:
        report = await expiry.run(service.unit_of_work, datetime.now(rules.zone).date())
        if report.expired_lots or report.announced or report.overdue_refunds:
            log.info("expiry job: %s", report)

    service.every(settings.expiry_check_seconds, expire_today, "expiry job")

    #: Tests run it for a month of their choosing.
    service.spending_profiles = profiles = SpendingProfiles(rules.zone)

    async def profile_this_month() -> None:
        await profiles.run(service.unit_of_work, datetime.now(rules.zone).date())

    service.every(settings.spending_profile_check_seconds, profile_this_month,
                  "spending profiles")
    metrics.install(service, settings.point_value_cny)

    service.http.state.pool = lambda: service.pool
    service.http.state.zone = rules.zone
    service.http.include_router(api.routes(MemberAuth(settings.verifier("app"))))
    staff = StaffAuth(settings.verifier("staff"), id_claim=settings.staff_id_claim,
                      roles_claim=settings.staff_roles_claim, staff_role=settings.staff_role)
    service.http.include_router(api.goodwill_routes(
        staff, settings.approver_role, Goodwill(settings.goodwill_policy(), rules),
        service.unit_of_work))
    service.campaigns = Campaigns(current, service.unit_of_work)
    service.on_start(service.campaigns.seed)  # the programme file's starting set
    service.http.include_router(api.campaign_routes(staff, service.campaigns,
                                                    lambda: service.pool))
    return service
