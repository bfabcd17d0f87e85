"""Partner secrets: minted once, shown once, kept encrypted (AES-256-GCM) at rest.

The HMAC secret must be readable by the server to check signatures, so it is encrypted
rather than hashed; the key id is bound as associated data, so a ciphertext copied onto
another key's row does not decrypt."""

from __future__ import annotations

import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def new_key_id() -> str:
    return f"pk_{secrets.token_hex(8)}"


def new_secret() -> str:
    return f"sk_{secrets.token_urlsafe(32)}"


def encrypt(key: bytes, key_id: str, secret: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, secret.encode(), key_id.encode())


def decrypt(key: bytes, key_id: str, blob: bytes) -> bytes:
    """The HMAC key: the secret's bytes as the partner holds them."""
    return AESGCM(key).decrypt(blob[:12], blob[12:], key_id.encode())
