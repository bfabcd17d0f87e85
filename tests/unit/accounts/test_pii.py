"""Contact data at rest: sealed and bound to its member and field, found by keyed hash,
shown masked; the settings refuse development keys outside development."""

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError

from runtime.personal_data import Sealer, lookup_hash, mask_mobile, mask_openid
from services.accounts.handlers.customers import sealing_context
from services.accounts.settings import AccountsSettings

SEALER, HASH_KEY = Sealer(os.urandom(32)), os.urandom(32)
MOBILE = "+8613812341234"


def test_encryption_round_trips_and_hides_the_value():
    blob = SEALER.seal(sealing_context("C0000000001", "mobile"), MOBILE)
    assert b"13812341234" not in blob
    assert SEALER.open(sealing_context("C0000000001", "mobile"), blob) == MOBILE
    assert SEALER.seal(sealing_context("C0000000001", "mobile"), MOBILE) != blob  # fresh nonce


@pytest.mark.parametrize("member, field", [("C0000000002", "mobile"),
                                           ("C0000000001", "wechat_openid")])
def test_a_ciphertext_moved_to_another_member_or_field_does_not_decrypt(member, field):
    blob = SEALER.seal(sealing_context("C0000000001", "mobile"), MOBILE)
    with pytest.raises(InvalidTag):
        SEALER.open(sealing_context(member, field), blob)


def test_lookup_hashes_are_keyed():
    assert lookup_hash(HASH_KEY, MOBILE) == lookup_hash(HASH_KEY, MOBILE)
    assert lookup_hash(HASH_KEY, MOBILE) != lookup_hash(os.urandom(32), MOBILE)


def test_masks():
    assert mask_mobile(MOBILE) == "138****1234"
    assert mask_openid("oX3kq9Zb-7mWcT2vLr8yPe4NdA1s") == "oX3k****dA1s"


ENV = {"kafka_bootstrap_servers": "k:1", "database_url": "postgresql://x"}


def test_development_keys_only_in_development():
    assert len(AccountsSettings(**ENV).pii_keys()[0]) == 32
    with pytest.raises(ValidationError, match="PII_KEY"):
        AccountsSettings(**ENV, environment="production")
    key = base64.b64encode(os.urandom(32)).decode()
    settings = AccountsSettings(**ENV, environment="production", pii_key=key, pii_hash_key=key)
    assert settings.pii_keys()[0] == base64.b64decode(key)
    with pytest.raises(ValidationError, match="32 bytes"):
        AccountsSettings(**ENV, pii_key=base64.b64encode(b"short").decode())
