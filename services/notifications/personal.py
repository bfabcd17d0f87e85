"""A member's family name, gender and birth date in the contact projection: sealed together
as JSON in `contacts.personal_sealed` (runtime.personal_data's layout, the key id in each
ciphertext), context "<member id>:personal", beside the phone number ("<member id>:mobile")
and openid ("<member id>:openid"). The context is the associated data: a ciphertext copied
onto another member's row or into another column does not open.

The birthday job finds members by `contacts.birthday_mmdd` (month * 100 + day, no year) and
opens the personal data only of the members it writes to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from runtime.personal_data import Sealer


@dataclass(frozen=True, slots=True)
class Personal:
    family_name: str
    gender: str
    birth_date: date


def context(member_id: str) -> str:
    return f"{member_id}:personal"


def seal_personal(sealer: Sealer, member_id: str, personal: Personal) -> bytes:
    fields = {"family_name": personal.family_name, "gender": personal.gender,
              "birth_date": personal.birth_date.isoformat()}
    return sealer.seal(context(member_id),
                       json.dumps(fields, ensure_ascii=False, sort_keys=True))


def open_personal(sealer: Sealer, member_id: str, sealed: bytes) -> Personal:
    fields = json.loads(sealer.open(context(member_id), sealed))
    return Personal(fields["family_name"], fields["gender"],
                    date.fromisoformat(fields["birth_date"]))


def month_day(day: date) -> int:
    """The birthday key: 1 June is 601, 29 February 229."""
    return day.month * 100 + day.day
