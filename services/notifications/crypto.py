"""Phone numbers and openids at rest: AES-256-GCM, a fresh nonce per value, the member id
as associated data (a ciphertext copied onto another member's row does not decrypt)."""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class ContactCipher:
    def __init__(self, key_b64: str) -> None:
        self._aead = AESGCM(base64.b64decode(key_b64))

    def seal(self, member_id: str, value: str | None) -> bytes | None:
        if value is None:
            return None
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, value.encode(), member_id.encode())

    def open(self, member_id: str, sealed: bytes | None) -> str | None:
        if sealed is None:
            return None
        return self._aead.decrypt(sealed[:12], sealed[12:], member_id.encode()).decode()
