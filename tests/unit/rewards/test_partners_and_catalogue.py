"""Partner scopes, the sealed secrets, and the shipped demo catalogue."""

import pytest
from cryptography.exceptions import InvalidTag

from contracts.tiers import TIERS
from runtime.personal_data import Sealer
from services.rewards.domain.errors import Refused
from services.rewards.domain.partners import Partner
from services.rewards.partners import new_key_id, new_secret
from services.rewards.settings import read_lounges, read_offer_rows, read_offers

LOUNGE_OPERATOR = Partner(id="ptn_a", name="龙腾出行", scopes=frozenset({"lounge"}),
                          lounges=("PEK-*", "SHA-T2-01"), offers=(), rate_per_second=5)


def test_scopes_and_items():
    LOUNGE_OPERATOR.require_scope("lounge")
    LOUNGE_OPERATOR.require_item("lounge", "PEK-T3-02")
    LOUNGE_OPERATOR.require_item("lounge", "SHA-T2-01")
    for check in (lambda: LOUNGE_OPERATOR.require_scope("offers"),
                  lambda: LOUNGE_OPERATOR.require_item("lounge", "SHA-T2-02"),
                  lambda: LOUNGE_OPERATOR.require_item("offer", "off_coffee_00_0")):
        with pytest.raises(Refused) as refused:
            check()
        assert (refused.value.code, refused.value.status) == ("scope_denied", 403)


def test_secrets_are_encrypted_and_bound_to_their_key_id():
    key = b"k" * 32
    blob = Sealer(key).seal("pk_1", "sk_secret")
    assert b"sk_secret" not in blob
    assert Sealer(key).open_bytes("pk_1", blob) == b"sk_secret"
    with pytest.raises(InvalidTag):
        Sealer(key).open_bytes("pk_2", blob)  # copied onto another key's row
    # Sealed under another key: the layout names the key, so it is refused before AES-GCM.
    with pytest.raises(ValueError, match="key"):
        Sealer(b"x" * 32).open_bytes("pk_1", blob)


def test_key_ids_and_secrets_are_random_and_recognisable():
    assert new_key_id() != new_key_id() and new_key_id().startswith("pk_")
    assert new_secret() != new_secret() and len(new_secret()) == 46


def test_the_demo_catalogue_is_large_and_consistent():
    offers = read_offers()
    lounges = read_lounges()
    assert len(offers) >= 300
    assert len({o.id for o in offers}) == len(offers)
    assert all(len(o.title) <= 64 and o.eligible_tiers <= set(TIERS) for o in offers)
    assert all((o.points_price is None) != (o.discount_percent is None) for o in offers)
    industries = {row["industry"] for row in read_offer_rows()}
    assert {"dining", "coffee", "travel", "hotels", "retail", "cinema", "fitness"} <= industries
    assert len({row["city"] for row in lounges}) >= 21
    assert len({row["lounge_id"] for row in lounges}) == len(lounges)
    assert all(len(row["name"]) <= 64 for row in lounges)
