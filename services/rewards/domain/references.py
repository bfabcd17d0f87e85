"""Redemption ids and the reference a member shows at the counter.

A redemption's id is "rdm_" and 10 characters of Crockford base32 (50 random bits; the
alphabet of `codes`, no I, L, O or U); its reference is those 10 characters, shown as
XXXXX-XXXXX: 11 characters, which fit an SMS variable (35) and a WeChat field (20) whole.
The id is the redemptions table's primary key, so references are unique: a save that
draws an id already taken writes nothing and draws again (sql/redemptions.py).

Ids minted before this scheme ("rdm_" and 32 hex digits) get a reference derived from
them (10 characters of a SHA-256), so a redemption still pending when it was introduced
is confirmed with a short reference too.
"""

from __future__ import annotations

import hashlib

from .codes import ALPHABET, random_characters

PREFIX = "rdm_"
LENGTH = 10


def new_redemption_id() -> str:
    return PREFIX + random_characters(LENGTH)


def reference(redemption_id: str) -> str:
    """What the member shows at the counter: XXXXX-XXXXX."""
    body = redemption_id.removeprefix(PREFIX)
    if len(body) != LENGTH or any(c not in ALPHABET for c in body):
        digest = int.from_bytes(hashlib.sha256(redemption_id.encode()).digest()[:8], "big")
        body = "".join(ALPHABET[(digest >> (5 * i)) & 31] for i in range(LENGTH))
    return f"{body[:5]}-{body[5:]}"
