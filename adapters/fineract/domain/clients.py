"""A Fineract client as a core-banking customer (contracts/corebanking/v1.py).

Fineract has names, a free-text mobile number, a date of birth and a gender code value (the
bank's own "Gender" code); consents it does not have, so they are none. What the contract
requires and the client lacks is a refusal with its reason (dead-lettered, to be fixed in
Fineract), never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from contracts.fields import CUSTOMER_ID_PATTERN

_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9][0-9]{9})$")
_SEPARATORS = re.compile(r"[\s().-]")
NAME_MAX = 32


class ClientRefused(ValueError):
    """A client the contract cannot carry; the message says what is missing."""


def customer_id(client_id: int | None) -> str:
    """The platform's customer id of Fineract client `client_id`: C and 10 digits."""
    if client_id is None:
        raise ClientRefused("client id missing")
    value = f"C{client_id:010d}"
    if client_id < 0 or not re.fullmatch(CUSTOMER_ID_PATTERN, value):
        raise ClientRefused(f"client id {client_id} does not fit a customer id (C + 10 digits)")
    return value


def china_mobile(raw: str | None) -> str:
    """E.164 (+86 and 11 digits) of a mainland mobile number written as Fineract users do."""
    match = _MOBILE.match(_SEPARATORS.sub("", raw or ""))
    if match is None:
        raise ClientRefused("mobileNo is not a mainland China mobile number"
                            if raw else "mobileNo missing")
    return f"+86{match.group(1)}"


def profile(client: Mapping, genders: Mapping[str, str], language: str) -> dict:
    """The CustomerOnboarded fields (but the time) of an active ClientDataV1 value."""
    family, given = client.get("lastname"), client.get("firstname")
    if client.get("middlename") and given:
        given = f"{given} {client['middlename']}"
    if not family or not given:
        raise ClientRefused("firstname and lastname are required (an entity has fullname only)")
    if max(len(family), len(given)) > NAME_MAX:
        raise ClientRefused(f"a name is longer than {NAME_MAX} characters")
    if not client.get("dateOfBirth"):
        raise ClientRefused("dateOfBirth missing")
    try:
        birth = date.fromisoformat(client["dateOfBirth"])
    except ValueError as exc:
        raise ClientRefused("dateOfBirth is not an ISO date") from exc
    gender = (client.get("gender") or {}).get("name")
    return dict(customer_id=customer_id(client["id"]), family_name=family, given_name=given,
                gender=genders.get(gender or "", "unknown"), birth_date=birth,
                mobile=china_mobile(client.get("mobileNo")), wechat_openid=None,
                preferred_language=language,
                consents={"service_messages": False, "marketing": False})
