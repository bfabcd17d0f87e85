"""Where messages enter the accounts service: its subscriptions, its jobs and its routes.

    corebanking.customers.v1 --(batches)--> OnCustomerFile (handlers/customers.py)
        -> members, consents (sql/members.py)
        -> member.enrolled / updated / closed on loyalty.members.v1,
           member.contact-changed / contact-erased on loyalty.member-contacts.v1,
           member.tier-changed when snapshots arrived before the enrolment
    corebanking.asset-snapshots.v1 --(batches)--> OnAssetSnapshots (handlers/asset_snapshots.py)
        -> snapshot history -> member.tier-changed on loyalty.members.v1
    loyalty.notifications.v1 --> OnOptOuts (handlers/opt_outs.py): a member's stop reply
        (notification.opt-out-received) -> marketing consent withdrawn, recorded with its
        source -> member.contact-changed on loyalty.member-contacts.v1
    every OVERRIDE_CHECK_SECONDS --> EndDueOverrides (handlers/override_ends.py)
        -> member.tier-changed (override_ended)
    every TIER_REVIEW_CHECK_SECONDS --> RunTierReviews (handlers/reviews.py): the yearly
        cadence's reviews due, each once across instances -> member.tier-changed
    at start --> seal_plaintext (reseal.py): personal data of before migration 0005 sealed
    HTTP (api.py): profile, tier and history for the app; for staff the preview of the next
        tier review (domain/preview.py), the tier override (handlers/tier_override.py)
        -> member.tier-changed (manual_override / override_ended), large ones proposed
        and approved by two staff members (handlers/staff_changes.py), and member lookup
        by mobile number.

Tiers are decided in event time: each fact (a snapshot, an enrolment, an override, a review
run) has the member's whole timeline decided again from all of them (handlers/timelines.py,
domain/tiers.py); what the announced history lacks is announced, with true effective
dates, corrections of the past included (domain/corrections.py); the timeline is saved
(sql/timeline.py) and is the same whatever order the topics delivered the facts in.

Every event leaves through the outbox (runtime/unit_of_work.py).
"""

from __future__ import annotations

from pathlib import Path

from contracts.corebanking.v1 import (
    AssetSnapshotTaken,
    CustomerClosed,
    CustomerOnboarded,
    CustomerUpdated,
)
from contracts.notifications.v1 import NotificationOptOutReceived
from contracts.topics import (
    ASSET_SNAPSHOTS_V1,
    CUSTOMERS_V1,
    MEMBER_CONTACTS_V1,
    MEMBERS_V1,
    NOTIFICATIONS_V1,
)
from runtime.auth import MemberAuth, StaffAuth
from runtime.service import LazyPool, Service

from . import metrics
from .api import routes
from .handlers.asset_snapshots import OnAssetSnapshots
from .handlers.customers import OnCustomerFile
from .handlers.opt_outs import OnOptOuts
from .handlers.override_ends import EndDueOverrides
from .handlers.reviews import RunTierReviews
from .reseal import seal_plaintext
from .settings import AccountsSettings, load_programme

PACKAGE_DIR = Path(__file__).parent


def build(name: str = "accounts", topic_prefix: str = "",
          settings: AccountsSettings | None = None) -> Service:
    """`name` is the schema and the consumer group; tests pass their own, and a prefix for
    private topics, to stay apart."""
    settings = settings or AccountsSettings()
    programme = load_programme(settings.tiers_file)  # a bad tiers file stops the start here
    _, hash_key = settings.pii_keys()
    sealer = settings.sealer()
    service = Service(name, settings=settings, package_dir=PACKAGE_DIR,
                      publishes=[MEMBERS_V1, MEMBER_CONTACTS_V1], topic_prefix=topic_prefix)

    # Tests watch the processors' commits and drive the override job with their own clock.
    service.customer_file = service.subscribe(
        CUSTOMERS_V1, OnCustomerFile(programme, sealer, hash_key),
        consumes=[CustomerOnboarded, CustomerUpdated, CustomerClosed])
    service.asset_snapshots = service.subscribe(
        ASSET_SNAPSHOTS_V1, OnAssetSnapshots(programme), consumes=[AssetSnapshotTaken])
    service.opt_outs = service.subscribe(
        NOTIFICATIONS_V1, OnOptOuts(sealer), consumes=[NotificationOptOutReceived])
    service.on_start(lambda: seal_plaintext(service.pool, sealer))  # of before 0005
    service.override_ends = EndDueOverrides(service.unit_of_work, programme)
    service.every(settings.override_check_seconds, service.override_ends,
                  "ending due tier overrides")
    service.tier_reviews = RunTierReviews(service.unit_of_work, programme)
    service.every(settings.tier_review_check_seconds, service.tier_reviews,
                  "running tier reviews")
    metrics.install(service)

    staff = StaffAuth(settings.verifier("staff"), id_claim=settings.staff_id_claim,
                      roles_claim=settings.staff_roles_claim, staff_role=settings.staff_role)
    service.http.include_router(routes(
        programme, sealer, hash_key, MemberAuth(settings.verifier("app")), staff,
        settings.approver_role, settings.tier_override_approval_above_steps,
        LazyPool(service), service.unit_of_work))
    return service
