"""The notifications service's settings: the shared ones plus providers, rules and keys.

Provider base URLs default to the sandbox this service serves itself under /sandbox
(SANDBOX_ENABLED, on by default for development); production sets the real endpoints and
turns the sandbox off. Credentials default to the sandbox's.
"""

from __future__ import annotations

import base64
from datetime import time
from typing import Literal

from pydantic import Field, field_validator, model_validator

from runtime.settings import Settings

#: A development key only: production sets CONTACT_KEY (32 bytes, base64).
DEV_CONTACT_KEY = base64.b64encode(b"loyalty-dev-contact-key-32bytes!").decode()


class NotificationsSettings(Settings):
    http_port: int = Field(default=8004, ge=1, le=65535)

    sms_provider: Literal["aliyun", "tencent"] = "aliyun"
    sms_sign_name: str = Field(default="XX银行", min_length=2, max_length=12)
    #: Empty: this service's own sandbox (see sandbox_enabled).
    wechat_base_url: str = ""
    aliyun_base_url: str = ""
    tencent_base_url: str = ""
    wechat_app_id: str = "wx-sandbox-app"
    wechat_app_secret: str = "sandbox-wechat-secret"
    aliyun_access_key_id: str = "sandbox-aliyun-key"
    aliyun_access_key_secret: str = "sandbox-aliyun-secret"
    tencent_secret_id: str = "sandbox-tencent-id"
    tencent_secret_key: str = "sandbox-tencent-key"
    tencent_sms_app_id: str = "1400000000"
    #: Serve the sandbox providers under /sandbox on this service's port.
    sandbox_enabled: bool = True
    #: Token WeChat uses to sign its event pushes (delivery receipts) to us.
    wechat_callback_token: str = "sandbox-callback-token"

    #: AES-256-GCM key for phone numbers and openids at rest (base64 of 32 bytes).
    contact_key: str = DEV_CONTACT_KEY

    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    daily_cap: int = Field(default=3, ge=1)
    summary_at: time = time(20, 0)
    birthday_at: time = time(10, 0)

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

    @field_validator("contact_key")
    @classmethod
    def _key_is_32_bytes(cls, value: str) -> str:
        if len(base64.b64decode(value, validate=True)) != 32:
            raise ValueError("CONTACT_KEY must be 32 bytes, base64-encoded")
        return value

    @model_validator(mode="after")
    def _default_to_sandbox(self) -> NotificationsSettings:
        local = f"http://127.0.0.1:{self.http_port}/sandbox"
        self.wechat_base_url = self.wechat_base_url or f"{local}/wechat"
        self.aliyun_base_url = self.aliyun_base_url or f"{local}/aliyun/"
        self.tencent_base_url = self.tencent_base_url or f"{local}/tencent/"
        return self
