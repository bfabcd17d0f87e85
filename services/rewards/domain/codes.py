"""Redemption codes: what the member shows and the partner types or scans.

10 characters of Crockford base32 (50 random bits), shown as XXXXX-XXXXX. They carry no
data: the server looks them up by an HMAC of the normalised code (a pepper from settings),
so a copy of the database cannot be turned into usable codes. Single use and the 5-minute
life are enforced by the lookup, not by the code."""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
LENGTH = 10
# Crockford's decoding is forgiving: the letters people confuse read as the digits.
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_code() -> str:
    raw = random_characters(LENGTH)
    return f"{raw[:5]}-{raw[5:]}"


def random_characters(count: int) -> str:
    """`count` characters of ALPHABET, uniformly: 5 bits each from one draw of the system's
    random source (a `secrets.choice` per character asked it twice per character)."""
    bits = secrets.randbits(5 * count)
    return "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(count))


def normalise(code: str) -> str | None:
    """The canonical form, or None when it cannot be a code (never worth a lookup)."""
    cleaned = code.replace("-", "").replace(" ", "").upper().translate(_CONFUSABLE)
    if len(cleaned) != LENGTH or any(c not in ALPHABET for c in cleaned):
        return None
    return cleaned


def code_hash(pepper: bytes, normalised: str) -> bytes:
    return hmac.new(pepper, normalised.encode(), hashlib.sha256).digest()
