"""Personal data at rest: mobile numbers and WeChat openids are stored encrypted
(AES-256-GCM), found through a keyed hash (HMAC-SHA256), and shown only masked.

Ciphertext layout: version byte, 12-byte random nonce, ciphertext with its tag. The member
id and the field name are the associated data, so a ciphertext copied onto another member's
row or field does not decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_NONCE_BYTES = 12


class PiiVault:
    def __init__(self, key: bytes, hash_key: bytes) -> None:
        if len(key) != 32 or len(hash_key) < 32:
            raise ValueError("PII keys must be 32 bytes")
        self._aead = AESGCM(key)
        self._hash_key = hash_key

    def encrypt(self, member_id: str, field: str, value: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value.encode(), _aad(member_id, field))
        return _VERSION + nonce + sealed

    def decrypt(self, member_id: str, field: str, blob: bytes) -> str:
        if blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        nonce, sealed = blob[1:1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES:]
        return self._aead.decrypt(nonce, sealed, _aad(member_id, field)).decode()

    def lookup_hash(self, value: str) -> bytes:
        """Equal values give equal hashes; without the key nobody can test a guess."""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).digest()


def _aad(member_id: str, field: str) -> bytes:
    return f"{member_id}:{field}".encode()


def mask_mobile(mobile: str) -> str:
    """+8613812341234 -> 138****1234."""
    digits = mobile.removeprefix("+86")
    return f"{digits[:3]}****{digits[-4:]}"


def mask_openid(openid: str) -> str:
    return f"{openid[:4]}****{openid[-4:]}"
