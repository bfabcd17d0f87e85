"""Partner request signatures: HMAC-SHA256 over the canonical request.

    canonical = METHOD \n PATH?QUERY \n TIMESTAMP \n NONCE \n hex(SHA-256(body))
    X-Key-Id: <key id>   X-Timestamp: <unix seconds>   X-Nonce: <16-64 chars>
    X-Signature: hex(HMAC-SHA256(secret, canonical))

The query is signed as sent (the raw query string), so nothing has to be re-encoded the same
way on both sides."""

from __future__ import annotations

import hashlib
import hmac
import re

from .errors import Refused, refuse

NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def canonical(method: str, path: str, query: str, timestamp: str, nonce: str,
              body: bytes) -> bytes:
    target = f"{path}?{query}" if query else path
    body_hash = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), target, timestamp, nonce, body_hash)).encode()


def sign(secret: bytes, method: str, path: str, query: str, timestamp: str, nonce: str,
         body: bytes) -> str:
    return hmac.new(secret, canonical(method, path, query, timestamp, nonce, body),
                    hashlib.sha256).hexdigest()


def check_freshness(timestamp: str, nonce: str, now: float, tolerance: int) -> None:
    """Before any key lookup: a malformed or stale request is refused cheaply."""
    # ASCII digits only (str.isdigit takes any script's), and no more than a time needs.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12) \
            or abs(int(timestamp) - now) > tolerance:
        raise refuse("stale_timestamp", f"timestamp outside +-{tolerance} s of server time")
    if not NONCE.match(nonce):
        raise refuse("invalid_signature", "nonce must be 16-64 characters [A-Za-z0-9_-]")


def verify(secret: bytes | None, signature: str, method: str, path: str, query: str,
           timestamp: str, nonce: str, body: bytes) -> None:
    """`secret` is the live key named by the key id, None when there is none: an unknown key
    costs the same HMAC as a wrong signature, so timing does not tell key ids apart."""
    message = canonical(method, path, query, timestamp, nonce, body)
    expected = hmac.new(secret or b"\0" * 32, message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()) or secret is None:
        raise refuse("invalid_signature", "signature does not match")


NONCE_REUSED = "nonce_reused"


def nonce_reused() -> Refused:
    return refuse(NONCE_REUSED, "this nonce was already used with this key")
