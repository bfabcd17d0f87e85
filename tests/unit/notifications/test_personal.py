"""The contact projection's sealed personal data: one layout (the key id in it), bound to
its member, the birthday key without the year."""

from __future__ import annotations

import os
from datetime import date

import pytest
from cryptography.exceptions import InvalidTag

from runtime.personal_data import VERSION, Sealer, key_id
from services.notifications.personal import Personal, month_day, open_personal, seal_personal

KEY = os.urandom(32)
PERSON = Personal("欧阳", "female", date(1979, 2, 28))


def test_sealed_in_the_one_layout_and_opened_again():
    sealed = seal_personal(Sealer(KEY), "C0000000001", PERSON)
    assert (sealed[0], sealed[1:5]) == (VERSION, key_id(KEY))
    assert "欧阳".encode() not in sealed and b"1979" not in sealed
    assert open_personal(Sealer(os.urandom(32), retired=[KEY]), "C0000000001", sealed) == PERSON


def test_bound_to_its_member():
    sealed = seal_personal(Sealer(KEY), "C0000000001", PERSON)
    with pytest.raises(InvalidTag):
        open_personal(Sealer(KEY), "C0000000002", sealed)


@pytest.mark.parametrize(("day", "key"), [(date(1979, 6, 1), 601), (date(1992, 2, 29), 229),
                                          (date(2000, 12, 31), 1231), (date(1985, 1, 1), 101)])
def test_the_birthday_key_is_month_and_day(day, key):
    assert month_day(day) == key
