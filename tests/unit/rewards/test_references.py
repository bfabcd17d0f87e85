"""The reference a member shows at the counter: short enough for an SMS variable and a
WeChat field, of an alphabet without look-alikes, one per redemption, the same every time."""

import re

import pytest

from contracts.rewards.v1 import RedemptionConfirmed
from services.rewards.domain.references import LENGTH, PREFIX, new_redemption_id, reference

SHAPE = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}")


@pytest.mark.parametrize(("redemption_id", "expected"), [
    ("rdm_0123456789", "01234-56789"),
    ("rdm_ABCDEFGHJK", "ABCDE-FGHJK"),
    ("rdm_VWXYZ00000", "VWXYZ-00000"),
    ("rdm_ABCDEFGHIL", None),        # I and L are not in the alphabet: an older id
    ("rdm_" + "a" * 32, None),       # minted before short references: derived
    ("rdm_without_debit", None),
])
def test_reference_of_an_id(redemption_id, expected) -> None:
    ref = reference(redemption_id)
    assert SHAPE.fullmatch(ref)
    assert ref == reference(redemption_id)  # deterministic
    if expected is not None:
        assert ref == expected


def test_new_ids_give_distinct_references_that_the_contract_accepts() -> None:
    ids = {new_redemption_id() for _ in range(20_000)}
    assert len(ids) == 20_000
    assert all(i.startswith(PREFIX) and len(i) == len(PREFIX) + LENGTH for i in ids)
    refs = {reference(i) for i in ids}
    assert len(refs) == len(ids)  # the id is the table's key, the reference its body
    assert all(SHAPE.fullmatch(r) for r in refs)


def test_the_contract_refuses_a_reference_of_another_shape() -> None:
    base = dict(member_id="C0000000001", redemption_id="rdm_1", partner_id="p", kind="offer",
                item_id="o", title="t", persons=1, points=0,
                confirmed_at="2026-03-01T00:00:00+08:00")
    assert RedemptionConfirmed(**base, reference="ABCDE-FGHJK").reference == "ABCDE-FGHJK"
    for bad in ("ABCDE-FGHJI", "ABCDEFGHJK", "abcde-fghjk", "ABCDE-FGHJK…"):
        with pytest.raises(ValueError):
            RedemptionConfirmed(**base, reference=bad)
