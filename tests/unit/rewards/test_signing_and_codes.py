"""Request signatures and redemption codes: pure functions, no I/O."""

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.rewards.domain import codes, signing
from services.rewards.domain.errors import Refused

SECRET = b"sk_test_secret"
NONCE = "n0nce-0123456789abcdef"
ARGS = ("POST", "/v1/redemptions/offers", "", "1763900000", NONCE, b'{"a":1}')


def test_the_signature_covers_the_documented_canonical_string():
    body_hash = hashlib.sha256(b'{"a":1}').hexdigest()
    canonical = f"POST\n/v1/redemptions/offers\n1763900000\n{NONCE}\n{body_hash}".encode()
    assert signing.sign(SECRET, *ARGS) == hmac.new(SECRET, canonical, "sha256").hexdigest()
    with_query = signing.canonical("GET", "/v1/redemptions", "limit=5", "1", NONCE, b"")
    assert with_query.startswith(b"GET\n/v1/redemptions?limit=5\n")


def test_a_good_signature_passes():
    signing.verify(SECRET, signing.sign(SECRET, *ARGS), *ARGS)


@pytest.mark.parametrize("index", range(6))
def test_changing_anything_signed_breaks_the_signature(index):
    signature = signing.sign(SECRET, *ARGS)
    changed = list(ARGS)
    changed[index] = changed[index] + (b"x" if isinstance(changed[index], bytes) else "x")
    with pytest.raises(Refused) as refused:
        signing.verify(SECRET, signature, *changed)
    assert (refused.value.code, refused.value.status) == ("invalid_signature", 401)


def test_an_unknown_key_is_refused_like_a_wrong_signature():
    with pytest.raises(Refused, match="signature") as refused:
        signing.verify(None, signing.sign(b"\0" * 32, *ARGS), *ARGS)
    assert refused.value.status == 401


@pytest.mark.parametrize(("timestamp", "nonce", "code"), [
    ("1000", NONCE, None),
    ("1300", NONCE, None),           # +300 s: still inside
    ("1301", NONCE, "stale_timestamp"),
    ("699", NONCE, "stale_timestamp"),
    ("-5", NONCE, "stale_timestamp"),
    ("soon", NONCE, "stale_timestamp"),
    ("1000", "short", "invalid_signature"),
    ("1000", "has space in it 12345", "invalid_signature"),
])
def test_freshness(timestamp, nonce, code):
    if code is None:
        signing.check_freshness(timestamp, nonce, now=1000.0, tolerance=300)
    else:
        with pytest.raises(Refused) as refused:
            signing.check_freshness(timestamp, nonce, now=1000.0, tolerance=300)
        assert refused.value.code == code


@given(st.integers(0, 50))
def test_codes_are_short_crockford_and_normalise_forgivingly(_):
    code = codes.new_code()
    assert len(code) == 11 and code[5] == "-"
    normalised = codes.normalise(code)
    assert normalised == code.replace("-", "")
    assert codes.normalise(code.lower().replace("-", " ")) == normalised


@pytest.mark.parametrize(("typed", "expected"), [
    ("ABCDE-FGHJK", "ABCDEFGHJK"),
    ("oil00-11111", "01100" + "11111"),  # O reads as 0, I and L as 1
    ("ABCDE-FGHJ", None),                # too short
    ("ABCDE-FGHJU", None),               # U is not in the alphabet
])
def test_normalising_typed_codes(typed, expected):
    assert codes.normalise(typed) == expected


def test_codes_are_stored_as_a_peppered_hash():
    assert codes.code_hash(b"pepper-1", "ABCDEFGHJK") != codes.code_hash(b"pepper-2",
                                                                        "ABCDEFGHJK")
    assert len(codes.code_hash(b"pepper-1", "ABCDEFGHJK")) == 32


def test_random_characters_reach_every_character_in_every_position():
    # 2,000 draws of 10: each of the 32 characters is expected ~62 times per position, so a
    # slip in the bit arithmetic (a character never drawn, a position stuck) shows.
    draws = [codes.random_characters(10) for _ in range(2000)]
    assert all(len(d) == 10 and set(d) <= set(codes.ALPHABET) for d in draws)
    for position in range(10):
        assert {d[position] for d in draws} == set(codes.ALPHABET)
    assert len(set(draws)) == len(draws)
