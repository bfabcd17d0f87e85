"""Service settings, read from environment variables and validated at start-up."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    kafka_bootstrap_servers: str = Field(min_length=1)
    database_url: str = Field(min_length=1)

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    #: Largest request body and headers accepted (runtime/errors.py): 413 and 431 past them.
    http_max_body_bytes: int = Field(default=65_536, ge=1024)
    http_max_header_bytes: int = Field(default=16_384, ge=1024)

    #: Static Kafka group membership (KIP-345): a name of this instance that stays the same
    #: across its restarts (e.g. a StatefulSet pod's name) and is unique in the group. A
    #: restarted instance then resumes its partitions at once instead of waiting out the
    #: session timeout and a rebalance; an instance stopped for good keeps its partitions
    #: idle until the session times out (10 s). Unset: dynamic membership.
    instance_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,100}$")
    #: Records per consumed batch: one database transaction each.
    batch_max_records: int = Field(default=500, ge=1, le=10_000)
    #: How long a poll waits to fill a batch.
    batch_timeout_ms: int = Field(default=100, ge=1)
    db_pool_max: int = Field(default=10, ge=2)
    #: How often the outbox relay looks for rows to publish (it drains full batches at once):
    #: the most an event written by another process waits in the outbox (this process's
    #: commits wake the relay), and an idle query this often.
    relay_poll_seconds: float = Field(default=0.02, gt=0)
    #: How long a woken relay waits for more commits to join its batch: a record per
    #: commit costs a read, a send and a delete each (under load most of a service's CPU
    #: per request); this many seconds added to an event's way out shares them.
    relay_linger_seconds: float = Field(default=0.002, ge=0, le=1.0)
    relay_batch_size: int = Field(default=2_000, ge=1)
    topic_partitions: int = Field(default=6, ge=1)
    #: Inbox ids are kept this long: more than Kafka's retention (7 days), see runtime/inbox.py.
    inbox_retention_days: int = Field(default=14, ge=8)
    #: How often old inbox ids are pruned.
    inbox_prune_seconds: float = Field(default=3600, gt=0)
