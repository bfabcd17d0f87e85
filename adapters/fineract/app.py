"""Where Apache Fineract's external events enter the platform: the adapter's one
subscription and its optional month-end job.

    FINERACT_TOPIC (Avro MessageV1, Long keys) --(batches)--> FineractProcessor (consumer.py)
        undecodable -> <topic>.dlq.fineract; other tenants, unmapped types -> ignored, counted
        -> OnFineractEvents (handlers/events.py)
           client created / activated (handlers/clients.py) -> clients
               -> corebanking.customer.onboarded on corebanking.customers.v1
           savings account events, deposits, withdrawals (handlers/savings.py)
               -> savings accounts, day-end balances
               -> corebanking.customer.closed (if configured: last savings account closed)
           months left behind by the business date (handlers/months.py)
               -> corebanking.asset-snapshot.taken on corebanking.asset-snapshots.v1
    every MONTH_CLOSE_CHECK_SECONDS, if FINERACT_MONTH_CLOSE_GRACE_DAYS is set
        --> MonthEndJob (handlers/months.py) -> the same snapshots, by the calendar

Every event leaves through the outbox (runtime/unit_of_work.py); ids derive from Fineract's
idempotency key (a snapshot's from its customer and month), so a replay publishes nothing new.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from contracts.topics import ASSET_SNAPSHOTS_V1, CUSTOMERS_V1, dead_letter_topic
from runtime.kafka import PERSONAL_DEAD_LETTER_RETENTION_MS
from runtime.service import Service

from . import metrics  # noqa: F401  (registers what it counts at commit)
from .avro import Schemas
from .consumer import FineractProcessor
from .handlers.clients import OnClients
from .handlers.events import OnFineractEvents
from .handlers.months import CloseMonths, MonthEndJob
from .handlers.savings import OnSavings
from .settings import FineractSettings

PACKAGE_DIR = Path(__file__).parent


def build(name: str = "fineract", topic_prefix: str = "",
          settings: FineractSettings | None = None) -> Service:
    """`name` is the schema and the consumer group; tests pass their own, and a prefix for
    private topics, to stay apart."""
    settings = settings or FineractSettings()
    schemas = Schemas(settings.fineract_schema_dir)  # a bad schema file stops the start here
    service = Service(name, settings=settings, package_dir=PACKAGE_DIR,
                      publishes=[CUSTOMERS_V1, ASSET_SNAPSHOTS_V1], topic_prefix=topic_prefix)
    months = CloseMonths()
    handler = OnFineractEvents(
        OnClients(settings.fineract_genders, settings.fineract_language,
                  settings.office_ids()),
        OnSavings(settings.fineract_close_with_last_savings_account),
        months, settings.fineract_month_close_lag_days)
    topic = settings.fineract_topic
    service.fineract = service.subscribe(  # tests watch its commits
        topic, handler, consumes=[],
        processor=partial(FineractProcessor, schemas=schemas, tenant=settings.fineract_tenant))

    # Fineract's clients carry personal data: their dead letters are kept 3 days.
    service.configure_topic(dead_letter_topic(topic, name),
                            {"retention.ms": str(PERSONAL_DEAD_LETTER_RETENTION_MS)})
    if settings.fineract_month_close_grace_days is not None:
        service.month_end = MonthEndJob(service.unit_of_work, months,
                                        settings.fineract_month_close_grace_days)
        service.every(settings.month_close_check_seconds, service.month_end,
                      "publishing ended months")
    return service
