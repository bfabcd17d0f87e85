"""Where messages enter the accounts service: its subscribers, and how the service is built.

    corebanking.customers.v1 --(batches)--> OnCustomerFile (handlers.py)
        -> members, consents (accounts_sql.py)
        -> member.enrolled / updated / closed on loyalty.members.v1,
           member.contact-changed / contact-erased on loyalty.member-contacts.v1
    corebanking.asset-snapshots.v1 --(batches)--> OnAssetSnapshots (handlers.py)
        -> snapshot history, tier status (domain/tiers.py)
        -> member.tier-changed on loyalty.members.v1
    HTTP (api.py): profile, tier and history for the app; the staff tier override
        (overrides.py), which also ends overrides on a timer.
"""

from __future__ import annotations

from pathlib import Path

from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from contracts.corebanking.v1 import (
    AssetSnapshotTaken,
    CustomerClosed,
    CustomerOnboarded,
    CustomerUpdated,
)
from contracts.topics import ASSET_SNAPSHOTS_V1, CUSTOMERS_V1, MEMBER_CONTACTS_V1, MEMBERS_V1
from runtime.service import LazyPool, Service

from .api import routes
from .handlers import OnAssetSnapshots, OnCustomerFile
from .overrides import Overrides
from .pii import PiiVault
from .programme import load_programme
from .settings import AccountsSettings

PACKAGE_DIR = Path(__file__).parent


def build(name: str = "accounts", topic_prefix: str = "",
          settings: AccountsSettings | None = None) -> Service:
    """`name` is the schema and the consumer group; tests pass their own, and a prefix for
    private topics, to stay apart."""
    settings = settings or AccountsSettings()
    programme = load_programme(settings.tiers_file)  # a bad tiers file stops the start here
    vault = PiiVault(*settings.pii_keys())
    service = Service(name, settings=settings, package_dir=PACKAGE_DIR,
                      publishes=[MEMBERS_V1, MEMBER_CONTACTS_V1], topic_prefix=topic_prefix)

    customer_file = service.processor(
        CUSTOMERS_V1, group=name, handler=OnCustomerFile(programme, vault),
        models={m.ce_type: m for m in (CustomerOnboarded, CustomerUpdated, CustomerClosed)})

    @service.broker.subscriber(service.topic(CUSTOMERS_V1), group_id=name,
                               ack_policy=AckPolicy.NACK_ON_ERROR, **service.batch_options())
    async def on_customers(message: KafkaMessage) -> None:
        await customer_file.consume(message)

    asset_snapshots = service.processor(
        ASSET_SNAPSHOTS_V1, group=name, handler=OnAssetSnapshots(programme),
        models={AssetSnapshotTaken.ce_type: AssetSnapshotTaken})

    @service.broker.subscriber(service.topic(ASSET_SNAPSHOTS_V1), group_id=name,
                               ack_policy=AckPolicy.NACK_ON_ERROR, **service.batch_options())
    async def on_asset_snapshots(message: KafkaMessage) -> None:
        await asset_snapshots.consume(message)

    service.overrides = Overrides(LazyPool(service), programme, source=f"urn:loyalty:{name}")

    async def end_due_overrides() -> None:
        await service.overrides.run_periodic_check(settings.override_check_seconds)

    service.background(end_due_overrides)
    service.http.include_router(routes(programme, vault, settings.staff_token, service.overrides))
    # Tests watch the commits.
    service.customer_file, service.asset_snapshots = customer_file, asset_snapshots
    return service
