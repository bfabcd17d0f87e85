"""The notifications service's settings (providers, receipts, rules, keys) and the message
templates they go with (`templates/*.toml`, read at start-up: a bad file stops it).

Provider base URLs and credentials default to the provider sandbox a developer runs beside
the service (`python -m tools.sandbox`, port 8094; scripts/run starts it), and the keys to
well-known development values. ENVIRONMENT=dev (the default) starts on them with a
warning; any other ENVIRONMENT refuses to start until every one of them is set for real
(the error names each variable and what to put in it), as accounts does with its keys.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from runtime.personal_data import Sealer
from runtime.settings import Settings

from .domain.opt_out import DEFAULT_KEYWORDS
from .domain.templates import Template, parse_template
from .domain.tier_changes import TierRule

log = logging.getLogger(__name__)
TEMPLATES_DIR = Path(__file__).parent / "templates"
#: The tier programme as shipped (services/accounts/tiers.toml); deployments point both
#: services' TIERS_FILE at the same file.
ACCOUNTS_TIERS_FILE = Path(__file__).parents[1] / "accounts" / "tiers.toml"
#: Where the development sandbox listens (tools/sandbox).
SANDBOX_URL = "http://127.0.0.1:8094"

# !!! DEVELOPMENT ONLY !!! Well-known values so that `scripts/run`, the sandbox and the tests
# work without setup. They protect nothing: anyone can read them here.
DEV_CONTACT_KEY = base64.b64encode(b"loyalty-dev-contact-key-32bytes!").decode()
DEV_CONTACT_HASH_KEY = base64.b64encode(b"loyalty-dev-contact-hash-32bytes").decode()
#: The sandbox's credentials and callback secrets: the defaults of the settings below.
SANDBOX = {
    "wechat_app_id": "wx-sandbox-app",
    "wechat_app_secret": "sandbox-wechat-secret",
    "wechat_callback_token": "sandbox-callback-token",
    "aliyun_access_key_id": "sandbox-aliyun-key",
    "aliyun_access_key_secret": "sandbox-aliyun-secret",
    "aliyun_callback_secret": "sandbox-aliyun-receipts-0000000000",
    "tencent_secret_id": "sandbox-tencent-id",
    "tencent_secret_key": "sandbox-tencent-key",
    "tencent_callback_secret": "sandbox-tencent-receipts-000000000",
}
#: What to set, per setting, when it is still at its development value.
_HINTS = {
    "contact_key": "base64 of 32 random bytes",
    "contact_hash_key": "base64 of 32 random bytes, not the CONTACT_KEY",
    "wechat_base_url": "https://api.weixin.qq.com",
    "aliyun_base_url": "https://dysmsapi.aliyuncs.com/",
    "tencent_base_url": "https://sms.tencentcloudapi.com/",
    "wechat_app_id": "the Official Account's AppID",
    "wechat_app_secret": "the Official Account's AppSecret",
    "wechat_callback_token": "the Token of the account's server configuration",
    "aliyun_access_key_id": "a RAM user's AccessKey ID",
    "aliyun_access_key_secret": "its AccessKey secret",
    "aliyun_callback_secret": "24+ random URL-safe characters, also in the receipt URL",
    "tencent_secret_id": "a CAM SecretId",
    "tencent_secret_key": "its SecretKey",
    "tencent_callback_secret": "24+ random URL-safe characters, also in the callback URL",
}
_PROVIDER_FIELDS = {
    "aliyun": ("aliyun_base_url", "aliyun_access_key_id", "aliyun_access_key_secret",
               "aliyun_callback_secret"),
    "tencent": ("tencent_base_url", "tencent_secret_id", "tencent_secret_key",
                "tencent_callback_secret"),
}


class NotificationsSettings(Settings):
    http_port: int = Field(default=8004, ge=1, le=65535)
    #: Alibaba Cloud batches its receipt pushes (each ~300 bytes).
    http_max_body_bytes: int = Field(default=1 << 20, ge=1024)
    #: "dev" allows the sandbox and the development keys above; anything else requires
    #: real providers and keys.
    environment: Literal["dev", "test", "production"] = "dev"

    sms_provider: Literal["aliyun", "tencent"] = "aliyun"
    sms_sign_name: str = Field(default="XX银行", min_length=2, max_length=12)
    wechat_base_url: str = f"{SANDBOX_URL}/wechat"
    aliyun_base_url: str = f"{SANDBOX_URL}/aliyun/"
    tencent_base_url: str = f"{SANDBOX_URL}/tencent/"
    wechat_app_id: str = SANDBOX["wechat_app_id"]
    wechat_app_secret: SecretStr = SecretStr(SANDBOX["wechat_app_secret"])
    aliyun_access_key_id: str = SANDBOX["aliyun_access_key_id"]
    aliyun_access_key_secret: SecretStr = SecretStr(SANDBOX["aliyun_access_key_secret"])
    tencent_secret_id: str = SANDBOX["tencent_secret_id"]
    tencent_secret_key: SecretStr = SecretStr(SANDBOX["tencent_secret_key"])
    tencent_sms_app_id: str = "1400000000"
    #: Token WeChat signs its event pushes (delivery receipts) with: the Token of the
    #: account's server configuration.
    wechat_callback_token: SecretStr = SecretStr(SANDBOX["wechat_callback_token"])
    #: Secret last segment of the receipt URLs configured at Alibaba Cloud and Tencent Cloud
    #: (.../callbacks/aliyun/sms-report/<secret>): neither signs its receipt pushes.
    aliyun_callback_secret: SecretStr = SecretStr(SANDBOX["aliyun_callback_secret"])
    tencent_callback_secret: SecretStr = SecretStr(SANDBOX["tencent_callback_secret"])
    #: How far a WeChat push's timestamp may be from our clock: its signature does not cover
    #: the body, so a leaked signed URL is only good this long.
    callback_max_age_seconds: int = Field(default=300, ge=30, le=3600)

    #: AES-256-GCM key for phone numbers and openids at rest (base64 of 32 bytes); unset, the
    #: development key (ENVIRONMENT=dev only).
    contact_key: SecretStr | None = None
    #: Keys replaced by CONTACT_KEY, comma-separated base64: values sealed under them still
    #: open until `python -m services.notifications.reseal` has re-sealed them.
    retired_contact_keys: SecretStr | None = None
    #: HMAC-SHA256 key of the contacts' lookup hashes (a replying number or an unfollowing
    #: openid finds its member by them; base64 of 32 bytes); unset, the development key
    #: (ENVIRONMENT=dev only). Changing it needs the hashes computed again: empty the
    #: columns (UPDATE contacts SET mobile_hash = NULL, openid_hash = NULL) and restart.
    contact_hash_key: SecretStr | None = None
    #: A reply to an SMS that is one of these (case, width and spaces aside) withdraws the
    #: marketing consent (domain/opt_out.py); any other reply is ignored.
    stop_keywords: list[str] = Field(default=list(DEFAULT_KEYWORDS), min_length=1)

    #: The tier programme (env TIERS_FILE): the accounts service's file, whose downgrade
    #: rule a downgrade message states (domain/tier_changes.py; `load_tier_rule`).
    tiers_file: Path = ACCOUNTS_TIERS_FILE

    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    daily_cap: int = Field(default=3, ge=1)
    summary_at: time = time(20, 0)
    birthday_at: time = time(10, 0)
    #: When festival and membership anniversary greetings go out (handlers/care_days.py).
    care_days_at: time = time(10, 0)
    #: Members looked at per transaction on a festival's day.
    care_days_batch_size: int = Field(default=1000, ge=1)

    sender_batch_size: int = Field(default=500, ge=1)
    sender_concurrency: int = Field(default=64, ge=1)
    sender_workers: int = Field(default=2, ge=1)
    sender_poll_seconds: float = Field(default=0.5, gt=0)
    provider_timeout_seconds: float = Field(default=5.0, gt=0)
    retry_max_attempts: int = Field(default=8, ge=1)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_cap_seconds: float = Field(default=1800.0, gt=0)
    #: How long a message waits for the member's contact data before it fails.
    contact_wait_seconds: float = Field(default=600.0, ge=0)
    jobs_poll_seconds: float = Field(default=30.0, gt=0)
    #: An SMS sent this long ago without a delivery receipt is looked up at its provider
    #: (handlers/receipt_lookups.py), at most `receipt_lookup_max` times, this long apart;
    #: `receipt_lookup_batch` a round, every `receipt_lookup_every_seconds`.
    receipt_lookup_after_seconds: float = Field(default=600.0, gt=0)
    receipt_lookup_max: int = Field(default=5, ge=1)
    receipt_lookup_batch: int = Field(default=200, ge=1)
    receipt_lookup_every_seconds: float = Field(default=60.0, gt=0)

    @field_validator("aliyun_callback_secret", "tencent_callback_secret")
    @classmethod
    def _url_safe_and_long(cls, value: SecretStr) -> SecretStr:
        if not re.fullmatch(r"[A-Za-z0-9_-]{24,128}", value.get_secret_value()):
            raise ValueError("24 to 128 characters of A-Z a-z 0-9 _ -")
        return value

    @field_validator("contact_key", "retired_contact_keys", "contact_hash_key")
    @classmethod
    def _keys_are_32_bytes(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            for key in value.get_secret_value().split(","):
                _key(key)
        return value

    @model_validator(mode="after")
    def _real_providers_and_keys_outside_dev(self) -> NotificationsSettings:
        if self.environment != "dev" and (missing := self.development_values()):
            raise ValueError(
                f"ENVIRONMENT={self.environment} needs real providers and keys; set "
                + "; ".join(f"{name.upper()} ({_HINTS[name]})" for name in missing))
        return self

    def development_values(self) -> list[str]:
        """The settings in use still at their development value (the sandbox's URLs and
        credentials, the development keys), or URLs that are not https to a remote host."""
        fields = ["wechat_base_url", "wechat_app_id", "wechat_app_secret",
                  "wechat_callback_token", *_PROVIDER_FIELDS[self.sms_provider]]
        found = [name for name in ("contact_key", "contact_hash_key")
                 if getattr(self, name) is None]
        for name in fields:
            value = getattr(self, name)
            if name.endswith("_url"):
                if not _remote_https(value):
                    found.append(name)
            elif isinstance(value, SecretStr):
                if value.get_secret_value() == SANDBOX[name]:
                    found.append(name)
            elif value == SANDBOX[name]:
                found.append(name)
        return found

    def warn_if_development(self) -> None:
        if missing := self.development_values():
            log.warning("DEVELOPMENT settings in use (sandbox providers, well-known keys): %s;"
                        " any ENVIRONMENT but dev refuses to start with them",
                        ", ".join(name.upper() for name in missing))

    def callback_secret(self, provider: Literal["aliyun", "tencent"]) -> bytes | None:
        """The secret ending the provider's receipt URL. None outside dev while it is still
        the sandbox's (the provider not in use): its receipts are all refused."""
        name = f"{provider}_callback_secret"
        value = getattr(self, name).get_secret_value()
        return None if self.environment != "dev" and value == SANDBOX[name] else value.encode()

    def sealer(self) -> Sealer:
        """Seals contact data under CONTACT_KEY; opens it under that key and the retired ones."""
        return Sealer(*self.contact_keys())

    def contact_hash_key_bytes(self) -> bytes:
        key = self.contact_hash_key
        return _key(key.get_secret_value() if key else DEV_CONTACT_HASH_KEY)

    def contact_keys(self) -> tuple[bytes, list[bytes]]:
        """(the current key, the retired ones)."""
        current = self.contact_key.get_secret_value() if self.contact_key else DEV_CONTACT_KEY
        retired = self.retired_contact_keys.get_secret_value() if self.retired_contact_keys else ""
        return _key(current), [_key(k) for k in retired.split(",") if k.strip()]


def _key(value: str) -> bytes:
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except binascii.Error as exc:
        raise ValueError("contact keys must be base64") from exc
    if len(key) != 32:
        raise ValueError("contact keys must be 32 bytes, base64-encoded")
    return key


def _remote_https(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host or host == "localhost":
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name
    return not (address.is_loopback or address.is_unspecified)


def load_templates(folder: Path = TEMPLATES_DIR) -> dict[str, Template]:
    templates = {}
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as file:
            templates[path.stem] = parse_template(path.stem, tomllib.load(file))
    return templates


def load_tier_rule(path: Path) -> TierRule:
    """The downgrade rule of the tier programme file (accounts validates the whole file;
    this reads the keys a message states). A file without them stops the start."""
    with path.open("rb") as file:
        data = tomllib.load(file)
    try:
        review = data.get("review", {})
        return TierRule(downgrade_after_months=int(data["downgrade_after_months"]),
                        cadence=review.get("cadence", "monthly"),
                        first_review=review.get("first_review"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: no tier downgrade rule ({exc})") from None
