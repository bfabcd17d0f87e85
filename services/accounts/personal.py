"""A member's personal data at rest: every personal field sealed (runtime.personal_data,
one layout, the key id in each ciphertext), found only by keyed hash.

    mobile_enc     the mobile number          context "<member id>:mobile"
    openid_enc     the WeChat openid          context "<member id>:wechat_openid"
    personal_enc   names, gender, birth date  context "<member id>:personal", as JSON

The context is the associated data: a ciphertext copied onto another member's row or into
another column does not open. Rows written before accounts migration 0005 hold names,
gender and birth date in plaintext columns until `python -m services.accounts.reseal` (also
run for them when the service starts) seals them; they are read from either until then.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal

from runtime.personal_data import Sealer

SealedField = Literal["mobile", "wechat_openid", "personal"]


def sealing_context(member_id: str, field: SealedField) -> str:
    return f"{member_id}:{field}"


@dataclass(frozen=True, slots=True)
class Personal:
    """The profile fields sealed together in personal_enc."""

    family_name: str
    given_name: str
    gender: str
    birth_date: date

    @classmethod
    def of(cls, profile: Any) -> Personal:
        return cls(profile.family_name, profile.given_name, profile.gender,
                   profile.birth_date)


def seal_personal(sealer: Sealer, member_id: str, personal: Personal) -> bytes:
    fields = {**asdict(personal), "birth_date": personal.birth_date.isoformat()}
    return sealer.seal(sealing_context(member_id, "personal"),
                       json.dumps(fields, ensure_ascii=False, sort_keys=True))


def open_personal(sealer: Sealer, member_id: str, row: Mapping[str, Any]) -> Personal | None:
    """From a members row: sealed, or still in plaintext (a row of before migration 0005);
    None for a closed member."""
    if row["personal_enc"] is not None:
        fields = json.loads(sealer.open(sealing_context(member_id, "personal"),
                                        row["personal_enc"]))
        return Personal(fields["family_name"], fields["given_name"], fields["gender"],
                        date.fromisoformat(fields["birth_date"]))
    if row["family_name"] is not None:
        return Personal(row["family_name"], row["given_name"], row["gender"],
                        row["birth_date"])
    return None
