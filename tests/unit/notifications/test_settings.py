"""Outside development the service refuses to start on the sandbox's providers or a
development key, and says what to set; development starts on them with a warning; retired
contact keys still open what they sealed."""

import base64
import logging
import os

import httpx
import pytest
from pydantic import ValidationError

from runtime.personal_data import Sealer
from services.notifications.app import build
from services.notifications.settings import DEV_CONTACT_KEY, SANDBOX, NotificationsSettings

ENV = {"kafka_bootstrap_servers": "k:1", "database_url": "postgresql://x"}
NEW, OLD, OLDER = (os.urandom(32) for _ in range(3))


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


REAL = {
    "contact_key": b64(NEW), "contact_hash_key": b64(OLDER),
    "wechat_base_url": "https://api.weixin.qq.com", "wechat_app_id": "wx8a1b2c3d4e5f6a7b",
    "wechat_app_secret": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "wechat_callback_token": "Rk9uZ2hVYW5nVG9rZW4",
    "aliyun_base_url": "https://dysmsapi.aliyuncs.com/",
    "aliyun_access_key_id": "LTAI5tExampleKeyId", "aliyun_access_key_secret": "ExampleSecret",
    "aliyun_callback_secret": "q3J9-vX2_mZ7nL4pR8sT1wY5",
}


async def test_production_starts_with_real_providers_and_keys(caplog) -> None:
    settings = NotificationsSettings(**ENV, **REAL, environment="production")
    assert settings.development_values() == []
    with caplog.at_level(logging.WARNING):
        service = build("notifications", "", settings)  # built, not started
    assert "DEVELOPMENT" not in caplog.text
    # Tencent Cloud is not in use: its receipt URL, still the sandbox's, takes nothing
    # (refused before the database is reached).
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service.http),
                                 base_url="http://n") as client:
        answer = await client.post("/callbacks/tencent/sms-status/"
                                   + SANDBOX["tencent_callback_secret"], json=[])
    assert (answer.status_code, answer.json()["code"]) == (401, "unauthenticated")


@pytest.mark.parametrize(("change", "named"), [
    ({"contact_key": None}, "CONTACT_KEY (base64 of 32 random bytes)"),
    ({"contact_hash_key": None}, "CONTACT_HASH_KEY (base64 of 32 random bytes"),
    ({"wechat_base_url": "http://127.0.0.1:8094/wechat"}, "WECHAT_BASE_URL (https://"),
    ({"aliyun_base_url": "https://localhost/aliyun/"}, "ALIYUN_BASE_URL"),
    ({"aliyun_base_url": "http://dysmsapi.aliyuncs.com/"}, "ALIYUN_BASE_URL"),
    ({"wechat_base_url": "https://[::1]/wechat"}, "WECHAT_BASE_URL"),
    ({"wechat_app_secret": "sandbox-wechat-secret"}, "WECHAT_APP_SECRET"),
    ({"wechat_callback_token": "sandbox-callback-token"}, "WECHAT_CALLBACK_TOKEN"),
    ({"aliyun_access_key_id": "sandbox-aliyun-key"}, "ALIYUN_ACCESS_KEY_ID"),
    ({"aliyun_callback_secret": "sandbox-aliyun-receipts-0000000000"},
     "ALIYUN_CALLBACK_SECRET"),
    ({"sms_provider": "tencent"}, "TENCENT_SECRET_KEY (its SecretKey)"),
])
@pytest.mark.parametrize("environment", ["production", "test"])
def test_outside_dev_each_development_value_is_refused_by_name(change, named,
                                                                environment) -> None:
    with pytest.raises(ValidationError, match=f"ENVIRONMENT={environment}") as refused:
        NotificationsSettings(**ENV, **{**REAL, **change}, environment=environment)
    assert named in str(refused.value)


def test_a_production_start_with_nothing_set_fails_and_lists_what_to_set(monkeypatch) -> None:
    for name, value in {**ENV, "environment": "production"}.items():
        monkeypatch.setenv(name.upper(), value)
    with pytest.raises(ValidationError) as refused:
        build()
    message = str(refused.value)
    for name in ("CONTACT_KEY", "WECHAT_BASE_URL", "WECHAT_APP_ID", "WECHAT_APP_SECRET",
                 "WECHAT_CALLBACK_TOKEN", "ALIYUN_BASE_URL", "ALIYUN_ACCESS_KEY_ID",
                 "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_CALLBACK_SECRET"):
        assert name in message
    assert "TENCENT" not in message  # the SMS provider not chosen needs nothing


def test_development_starts_on_the_sandbox_with_a_warning(caplog) -> None:
    settings = NotificationsSettings(**ENV)
    with caplog.at_level(logging.WARNING):
        build("notifications", "", settings)
    assert "DEVELOPMENT settings in use" in caplog.text and "CONTACT_KEY" in caplog.text
    assert settings.contact_keys() == (base64.b64decode(DEV_CONTACT_KEY), [])


def test_retired_keys_open_what_they_sealed_and_new_values_use_the_current_key() -> None:
    before = Sealer(OLDER).seal("C1:mobile", "+8613812341234"), Sealer(OLD).seal("C2:mobile", "x")
    settings = NotificationsSettings(**ENV, contact_key=b64(NEW),
                                     retired_contact_keys=f"{b64(OLD)}, {b64(OLDER)}")
    sealer = settings.sealer()
    assert sealer.open("C1:mobile", before[0]) == "+8613812341234"
    assert sealer.open("C2:mobile", before[1]) == "x"
    assert not any(sealer.is_current(blob) for blob in before)
    assert Sealer(NEW).open("C3:openid", sealer.seal("C3:openid", "o1")) == "o1"


@pytest.mark.parametrize("field", ["contact_key", "retired_contact_keys"])
@pytest.mark.parametrize("value", ["not base64!", b64(b"short"), f"{b64(NEW)},{b64(b'x')}"])
def test_keys_must_be_32_bytes_of_base64(field, value) -> None:
    with pytest.raises(ValidationError, match="contact keys must be"):
        NotificationsSettings(**ENV, **{field: value})


@pytest.mark.parametrize("secret", ["short", "x" * 23, "with space " * 3, "秘" * 30])
def test_callback_secrets_are_long_and_url_safe(secret) -> None:
    with pytest.raises(ValidationError, match="24 to 128"):
        NotificationsSettings(**ENV, tencent_callback_secret=secret)
