"""The Fineract adapter's settings: the shared ones (runtime/settings.py) plus where
Fineract's events are and how a bank's Fineract maps onto the core-banking contracts."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from runtime.settings import Settings

from .avro import SCHEMA_DIR

#: Fineract's default "Gender" code values; a bank with others sets FINERACT_GENDERS.
DEFAULT_GENDERS = {"Male": "male", "Female": "female"}


class FineractSettings(Settings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    http_port: int = Field(default=8005, ge=1, le=65535)
    #: Fineract's external-events topic (its `FINERACT_EXTERNAL_EVENTS_KAFKA_TOPIC_NAME`).
    fineract_topic: str = Field(default="external-events", pattern=r"^[A-Za-z0-9._-]{1,200}$")
    #: The tenant whose events are applied; other tenants' are ignored.
    fineract_tenant: str = Field(default="default", min_length=1)
    #: The schema files (the ones shipped with the package unless set).
    fineract_schema_dir: Path = SCHEMA_DIR
    #: Fineract gender code value name -> male / female / unknown (JSON). Unlisted: unknown.
    fineract_genders: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_GENDERS))
    #: Offices whose clients become customers (comma-separated ids); empty: every office.
    fineract_office_ids: str = Field(default="", pattern=r"^[0-9,\s]*$")
    #: Language of the customers' messages (Fineract has none).
    fineract_language: str = Field(default="zh-CN", pattern=r"^(zh-CN|en-US)$")
    #: Close the customer when the last of their savings accounts is closed (Fineract emits
    #: no client-closed event); false: closing stays with core banking's own feed.
    fineract_close_with_last_savings_account: bool = False
    #: A month is published once an event's business date is this many days past its end
    #: (order holds per Kafka key only: a day's grace for other partitions' stragglers).
    fineract_month_close_lag_days: int = Field(default=1, ge=0, le=31)
    #: Month-end job: publish a month's snapshots this many days after it ended by the
    #: calendar (Asia/Shanghai) even if no later event came. Unset: only a Fineract event
    #: dated in a later month publishes them.
    fineract_month_close_grace_days: int | None = Field(default=None, ge=0, le=60)
    month_close_check_seconds: float = Field(default=3600, gt=0)

    @field_validator("fineract_genders")
    @classmethod
    def _genders(cls, value: dict[str, str]) -> dict[str, str]:
        if bad := set(value.values()) - {"male", "female", "unknown"}:
            raise ValueError(f"genders map to male, female or unknown, not {sorted(bad)}")
        return value

    def office_ids(self) -> frozenset[int]:
        return frozenset(int(x) for x in self.fineract_office_ids.replace(" ", "").split(",")
                         if x)
