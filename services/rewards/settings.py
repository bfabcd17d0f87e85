"""The rewards service's settings (the shared ones plus its own port, secrets and waits) and
the files they name: the benefits (allowances and prices), the charity partners members may
give points to, and the demo catalogue of offers and lounges shipped beside the code (it
seeds the database, where staff manage it: sql/catalogue.py)."""

from __future__ import annotations

import base64
import csv
import hashlib
import logging
import tomllib
from datetime import date
from pathlib import Path

from pydantic import Field, model_validator

from contracts.tiers import TIERS
from runtime.auth import AuthSettings
from runtime.personal_data import Sealer

from .domain.benefits import Benefits, parse_benefits
from .domain.donations import Charity, parse_charities
from .domain.offers import Offer

log = logging.getLogger(__name__)
BENEFITS_FILE = Path(__file__).parent / "benefits.toml"
CHARITIES_FILE = Path(__file__).parent / "charities.toml"
CATALOGUE_DIR = Path(__file__).parent / "catalogue"


class RewardsSettings(AuthSettings):
    http_port: int = Field(default=8003, ge=1, le=65535)
    #: The benefits (BENEFITS_FILE): lounge allowances, prices, code life; validated at start.
    benefits_file: Path = BENEFITS_FILE
    #: The charity partners members may give points to (CHARITIES_FILE); validated at start.
    charities_file: Path = CHARITIES_FILE
    #: AES-256-GCM key sealing partner secrets at rest, base64 of 32 bytes
    #: (PARTNER_KEY_ENCRYPTION_KEY). Unset: a fixed development key, with a warning, in
    #: ENVIRONMENT=dev only (any other refuses to start).
    partner_key_encryption_key: str | None = None
    #: Pepper of the redemption-code HMAC (CODE_PEPPER). Unset: a development value (dev
    #: only, as above).
    code_pepper: str | None = Field(default=None, min_length=16)
    #: How long a points-paid redemption waits for the points service before answering 202.
    saga_wait_seconds: float = Field(default=3.0, gt=0, le=30)
    #: How long a points-paid redemption may wait for the points service at all: then it is
    #: rejected `timed_out` (a debit landing later is refunded). Above SAGA_WAIT_SECONDS.
    saga_timeout_seconds: float = Field(default=300.0, gt=0)
    #: Redemptions timed out per transaction (the job repeats until none are due).
    saga_timeout_batch: int = Field(default=500, ge=1, le=10_000)
    #: How long a consumer's poll waits to fill a batch. Shorter than the runtime's default
    #: (100 ms): a subscriber whose poll came back empty also sleeps this long before the
    #: next one (FastStream), and the saga's answer from the points service is waited for by
    #: an HTTP request.
    batch_timeout_ms: int = Field(default=10, ge=1)
    #: Accepted clock difference of signed requests, either way.
    signature_tolerance_seconds: int = Field(default=300, ge=30, le=900)
    #: The staff role that manages the catalogue (besides STAFF_ROLE, which every staff
    #: route needs).
    catalogue_role: str = "loyalty-catalogue"
    #: How often an instance checks the catalogue's version, to reload what staff changed
    #: (on any instance) since: the longest a change takes to be redeemable everywhere.
    catalogue_refresh_seconds: float = Field(default=1.0, gt=0, le=60)
    #: The staff role that manages member events (salons) and checks guests in.
    salons_role: str = "loyalty-events"
    #: How often the salon jobs run: invitations in their window, reminders the day before.
    salon_job_seconds: float = Field(default=60.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _real_keys_outside_dev(self) -> RewardsSettings:
        missing = [name for name, value in (
            ("PARTNER_KEY_ENCRYPTION_KEY", self.partner_key_encryption_key),
            ("CODE_PEPPER", self.code_pepper)) if not value]
        if self.environment != "dev" and missing:
            raise ValueError(f"ENVIRONMENT={self.environment} needs {' and '.join(missing)}"
                             " (the development values protect nothing)")
        return self

    @model_validator(mode="after")
    def _timeout_beyond_wait(self) -> RewardsSettings:
        if self.saga_timeout_seconds <= self.saga_wait_seconds:
            raise ValueError("SAGA_TIMEOUT_SECONDS must be above SAGA_WAIT_SECONDS")
        return self

    def partner_key(self) -> bytes:
        if self.partner_key_encryption_key:
            key = base64.b64decode(self.partner_key_encryption_key)
            if len(key) != 32:
                raise ValueError("PARTNER_KEY_ENCRYPTION_KEY must be base64 of 32 bytes")
            return key
        log.warning("PARTNER_KEY_ENCRYPTION_KEY is not set: using the development key")
        return hashlib.sha256(b"loyalty-rewards-development-only").digest()

    def sealer(self) -> Sealer:
        """Seals partner secrets, each under its key id (runtime.personal_data)."""
        return Sealer(self.partner_key())

    def pepper(self) -> bytes:
        if self.code_pepper:
            return self.code_pepper.encode()
        log.warning("CODE_PEPPER is not set: using the development pepper")
        return b"loyalty-rewards-development-pepper"


def load_benefits(path: Path) -> Benefits:
    with path.open("rb") as file:
        return parse_benefits(tomllib.load(file))


def load_charities(path: Path) -> dict[str, Charity]:
    with path.open("rb") as file:
        return parse_charities(tomllib.load(file))


def read_offer_rows(path: Path = CATALOGUE_DIR / "offers.csv") -> list[dict]:
    with path.open(encoding="utf-8") as file:
        return list(csv.DictReader(file))


def read_lounges(path: Path = CATALOGUE_DIR / "lounges.csv") -> list[dict]:
    with path.open(encoding="utf-8") as file:
        return list(csv.DictReader(file))


def read_offers(path: Path = CATALOGUE_DIR / "offers.csv") -> list[Offer]:
    offers = []
    for row in read_offer_rows(path):
        tiers = frozenset(row["eligible_tiers"].split("|"))
        if not tiers <= set(TIERS):
            raise ValueError(f"offer {row['offer_id']}: unknown tiers {tiers - set(TIERS)}")
        offers.append(Offer(
            id=row["offer_id"], title=row["title"],
            points_price=int(row["points_price"]) if row["points_price"] else None,
            discount_percent=int(row["discount_percent"]) if row["discount_percent"] else None,
            valid_from=date.fromisoformat(row["valid_from"]),
            valid_until=date.fromisoformat(row["valid_until"]),
            eligible_tiers=tiers, limit_per_period=int(row["limit_per_period"]),
            period=row["period"]))
    return offers
