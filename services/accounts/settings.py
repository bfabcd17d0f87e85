"""The accounts service's settings: the shared ones and the tokens' (runtime/auth.py) plus
its port, tier programme, PII keys and the size of a staff change that needs a second
approver; and the reading of the tier programme file they name."""

from __future__ import annotations

import base64
import binascii
import tomllib
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from runtime.auth import AuthSettings
from runtime.personal_data import Sealer

from .domain.programme import TierProgramme, parse_programme

#: The tier programme as shipped.
DEFAULT_TIERS_FILE = Path(__file__).parent / "tiers.toml"

# !!! DEVELOPMENT ONLY !!! Well-known keys so that `scripts/run` and the tests work without
# setup. They protect nothing: anyone can read them here. Any ENVIRONMENT other than "dev"
# refuses to start without PII_KEY and PII_HASH_KEY of its own.
DEV_PII_KEY = base64.b64encode(b"DEV-ONLY-accounts-pii-key-000001").decode()
DEV_PII_HASH_KEY = base64.b64encode(b"DEV-ONLY-accounts-hash-key-00001").decode()


class AccountsSettings(AuthSettings):
    http_port: int = Field(default=8001, ge=1, le=65535)
    #: The tier programme (env TIERS_FILE); validated when the service starts.
    tiers_file: Path = DEFAULT_TIERS_FILE
    #: Sealing key (runtime.personal_data) of every personal field at rest (personal.py):
    #: base64 of 32 bytes.
    pii_key: SecretStr | None = None
    #: Keys sealed under before PII_KEY, comma-separated (RETIRED_PII_KEYS): still opened,
    #: never sealed under; `python -m services.accounts.reseal` moves values off them.
    retired_pii_keys: SecretStr | None = None
    #: HMAC-SHA256 key for the lookup hashes: base64 of 32 bytes.
    pii_hash_key: SecretStr | None = None
    #: Maker-checker: a tier override moving the member more than this many tiers from the
    #: tier they have now needs a second staff member's approval (api.py).
    tier_override_approval_above_steps: int = Field(default=1, ge=0, le=3)
    #: How often ended tier overrides are looked for (they also end on the next snapshot).
    override_check_seconds: float = Field(default=60.0, gt=0)
    #: How often the tier review job looks for a review due (yearly cadence, tiers.toml).
    tier_review_check_seconds: float = Field(default=600.0, gt=0)

    @field_validator("pii_key", "pii_hash_key", "retired_pii_keys")
    @classmethod
    def _thirty_two_bytes(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and any(len(_decode(k)) != 32
                                     for k in value.get_secret_value().split(",")):
            raise ValueError("must be base64 of exactly 32 bytes")
        return value

    @model_validator(mode="after")
    def _real_keys_outside_dev(self) -> AccountsSettings:
        if self.environment != "dev" and (self.pii_key is None or self.pii_hash_key is None):
            raise ValueError("PII_KEY and PII_HASH_KEY are required outside ENVIRONMENT=dev")
        return self

    def pii_keys(self) -> tuple[bytes, bytes]:
        key = self.pii_key.get_secret_value() if self.pii_key else DEV_PII_KEY
        hash_key = self.pii_hash_key.get_secret_value() if self.pii_hash_key else DEV_PII_HASH_KEY
        return _decode(key), _decode(hash_key)

    def sealer(self) -> Sealer:
        """Seals under PII_KEY; opens under it and the retired keys."""
        retired = (self.retired_pii_keys.get_secret_value().split(",")
                   if self.retired_pii_keys else [])
        return Sealer(self.pii_keys()[0], [_decode(k) for k in retired])


def load_programme(path: Path = DEFAULT_TIERS_FILE) -> TierProgramme:
    """Read and validate the tier programme; raises pydantic's ValidationError with every
    problem."""
    with path.open("rb") as file:
        return parse_programme(tomllib.load(file))


def _decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError("not valid base64") from exc
