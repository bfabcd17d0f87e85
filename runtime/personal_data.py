"""Personal data and secrets: sealed at rest in one layout, shown only masked, kept out of
logs. Every service seals with `Sealer` and masks with the functions here.

Sealed layout (version 2), AES-256-GCM:

    0x02 | key id (4 bytes) | nonce (12 bytes) | ciphertext and tag

The key id is the first 4 bytes of SHA-256 over the key, so a ciphertext names the key that
opens it and keys can be rotated (`Sealer(new, retired=[old])` opens both, seals with the
new one). The caller's context (e.g. member id and field name) is the associated data: a
ciphertext copied onto another member's row or another field does not open.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 2
_HEADER = 1 + 4
_NONCE = 12


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:4]


class Sealer:
    def __init__(self, key: bytes, retired: Iterable[bytes] = ()) -> None:
        for k in (key, *retired):
            if len(k) != 32:
                raise ValueError("sealing keys must be 32 bytes")
        self._current = key_id(key)
        self._keys = {key_id(k): AESGCM(k) for k in (*retired, key)}

    def seal(self, context: str, value: str | bytes) -> bytes:
        plain = value.encode() if isinstance(value, str) else value
        nonce = os.urandom(_NONCE)
        sealed = self._keys[self._current].encrypt(nonce, plain, context.encode())
        return bytes([VERSION]) + self._current + nonce + sealed

    def open_bytes(self, context: str, blob: bytes) -> bytes:
        if len(blob) < _HEADER + _NONCE or blob[0] != VERSION:
            raise ValueError("not a sealed value of a known layout")
        aead = self._keys.get(blob[1:_HEADER])
        if aead is None:
            raise ValueError("sealed under a key this service does not hold")
        nonce = blob[_HEADER:_HEADER + _NONCE]
        return aead.decrypt(nonce, blob[_HEADER + _NONCE:], context.encode())

    def open(self, context: str, blob: bytes) -> str:
        return self.open_bytes(context, blob).decode()

    def is_current(self, blob: bytes) -> bool:
        """Sealed under the current key (else a candidate for re-sealing)."""
        return blob[1:_HEADER] == self._current


def lookup_hash(hash_key: bytes, value: str) -> bytes:
    """A keyed hash to find a record by a personal value: equal values give equal hashes;
    without the key nobody can test a guess."""
    return hmac.new(hash_key, value.encode(), hashlib.sha256).digest()


# ---------------------------------------------------------------------- masking

def mask_mobile(mobile: str) -> str:
    """+8613812341234 -> 138****1234."""
    digits = mobile.removeprefix("+86")
    return f"{digits[:3]}****{digits[-4:]}"


def mask_openid(openid: str) -> str:
    return f"{openid[:4]}****{openid[-4:]}"


# Last line of defence for logs: a phone number or WeChat openid that slipped into a message
# is masked before it is written. Code should never log them in the first place.
#
# Mainland mobile numbers: 11 digits 1[3-9]xxxxxxxxx, grouped 3-4-4 by spaces, dots,
# dashes, slashes or underscores or not at all (the first three maybe in brackets), after
# an optional +86 / 0086 / 86 / (+86) / %2B86 and a separator;
# any text around them (letters, CJK, JSON, %-escapes and \uXXXX escapes, which end in
# hex digits) but more digits, which make another number (amounts, ids, dates, decimals).
_AFTER_ESCAPE = r"(?<=%[0-9A-Fa-f]{2})|(?<=\\u[0-9A-Fa-f]{4})"
_SEP = r"(?:[ \t\u00a0\u3000.\-\u2010-\u2015\uff0d+_/]|%20)"
_COUNTRY = (r"(?:(?:\+|\uff0b|%2[Bb]|00)?86"
            r"|[(\uff08](?:\+|\uff0b)?86[)\uff09]|%28(?:\+|%2[Bb])?86%29)")
_FIRST = r"[1\uff11][3-9\uff13-\uff19]\d"
_MOBILE = re.compile(
    rf"(?:(?<!\d)|{_AFTER_ESCAPE})(?<!\d[.,])(?:{_COUNTRY}{_SEP}{{0,3}})?"
    rf"(?:[(\uff08]({_FIRST})[)\uff09]|({_FIRST})){_SEP}{{0,3}}\d{{4}}{_SEP}{{0,3}}"
    rf"(\d{{4}})(?![.,]?\d)")
# A list of numbers with commas between them ("13812345678,13987654321", as SMS APIs take
# them), which the rule against decimals and thousands above leaves alone.
_MOBILE_LIST = re.compile(r"(?<![\d.,])1[3-9]\d{9}(?:[,\uff0c]1[3-9]\d{9})+(?![.,]?\d)")
# Openids: "o" and 27 of A-Z a-z 0-9 _ -, at least one a capital or a digit (what sets them
# apart from long snake_case words), not inside a longer run of letters and digits; next to
# anything else (CJK, quotes, =, /, _, %-escapes, \uXXXX or \n escapes).
_OPENID = re.compile(
    rf"(?:(?<![A-Za-z0-9])|{_AFTER_ESCAPE}|(?<=\\[nrtbf]))"
    r"o(?=[A-Za-z0-9_-]{0,26}[A-Z0-9])[A-Za-z0-9_-]{27}(?![A-Za-z0-9])")


def redact(text: str) -> str:
    text = _OPENID.sub("o***", text)  # first: an openid may hold 11 digits in a row
    text = _MOBILE_LIST.sub(lambda m: re.sub(r"(\d{3})\d{4}(\d{4})", r"\1****\2", m[0]), text)
    return _MOBILE.sub(lambda m: f"{m[1] or m[2]}****{m[3]}", text)
