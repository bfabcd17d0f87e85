"""Every service holding personal data or secrets refuses to start outside ENVIRONMENT=dev
without keys of its own (the development ones are in the source code): its settings, and
so its build(), fail and name what is missing."""

from __future__ import annotations

import base64
import os

import pytest
from pydantic import ValidationError

from services.accounts.settings import AccountsSettings
from services.notifications.settings import NotificationsSettings
from services.rewards.settings import RewardsSettings

KEY = base64.b64encode(os.urandom(32)).decode()
#: Each service's settings and the keys it must be given outside dev.
KEYS = {
    AccountsSettings: {"PII_KEY": KEY, "PII_HASH_KEY": KEY},
    NotificationsSettings: {"CONTACT_KEY": KEY, "CONTACT_HASH_KEY": KEY},
    RewardsSettings: {"PARTNER_KEY_ENCRYPTION_KEY": KEY, "CODE_PEPPER": "p" * 32},
}


@pytest.fixture(autouse=True)
def no_keys_in_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nowhere/loyalty")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "nowhere:9092")
    for keys in KEYS.values():
        for name in (*keys, "RETIRED_PII_KEYS", "RETIRED_CONTACT_KEYS"):
            monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("settings", KEYS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("environment", ["production", "test"])
def test_outside_dev_each_missing_key_stops_the_start(settings, environment, monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", environment)
    for missing in KEYS[settings]:
        for name, value in KEYS[settings].items():
            if name != missing:
                monkeypatch.setenv(name, value)
            else:
                monkeypatch.delenv(name, raising=False)
        with pytest.raises(ValidationError) as refused:
            settings()
        assert missing.lower() in str(refused.value).lower(), (settings.__name__, missing)


@pytest.mark.parametrize("settings", [AccountsSettings, RewardsSettings],
                         ids=lambda s: s.__name__)
def test_in_dev_the_development_keys_serve_and_with_keys_production_starts(settings,
                                                                           monkeypatch):
    settings()  # dev: the development keys
    monkeypatch.setenv("ENVIRONMENT", "production")
    for name, value in KEYS[settings].items():
        monkeypatch.setenv(name, value)
    configured = settings()
    assert configured.sealer() is not None
