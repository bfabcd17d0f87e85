"""A Fineract client as a core-banking customer (domain/clients.py)."""

from datetime import date

import pytest

from adapters.fineract.domain.clients import ClientRefused, china_mobile, customer_id, profile
from adapters.fineract.settings import DEFAULT_GENDERS
from contracts.corebanking.v1 import CustomerOnboarded
from simulator.fineract import client


def test_an_active_client_becomes_a_valid_customer_profile():
    fields = profile(client(42, firstname="伟", lastname="张", gender="Female"),
                     DEFAULT_GENDERS, "zh-CN")
    assert fields == dict(customer_id="C0000000042", family_name="张", given_name="伟",
                          gender="female", birth_date=date(1988, 6, 1), mobile="+8613912345678",
                          wechat_openid=None, preferred_language="zh-CN",
                          consents={"service_messages": False, "marketing": False})
    CustomerOnboarded(**fields, onboarded_at="2026-01-02T01:00:00+00:00")  # the contract holds


def test_gender_codes_are_configuration_and_unknown_codes_mean_unknown():
    assert profile(client(1, gender="M"), {"M": "male"}, "zh-CN")["gender"] == "male"
    assert profile(client(1, gender="Other"), DEFAULT_GENDERS, "zh-CN")["gender"] == "unknown"
    assert profile(client(1, gender=None), DEFAULT_GENDERS, "zh-CN")["gender"] == "unknown"


@pytest.mark.parametrize("written", ["13912345678", "+86 139-1234-5678", "86 (139) 1234 5678"])
def test_mobile_numbers_as_users_write_them(written):
    assert china_mobile(written) == "+8613912345678"


@pytest.mark.parametrize("changes, reason", [
    ({"mobile": None}, "mobileNo missing"),
    ({"mobile": "+44 7700 900123"}, "not a mainland China mobile"),
    ({"birth": None}, "dateOfBirth missing"),
    ({"birth": "01/06/1988"}, "not an ISO date"),
    ({"lastname": None}, "firstname and lastname"),
    ({"firstname": "x" * 33}, "longer than 32"),
])
def test_what_the_contract_needs_and_the_client_lacks_is_refused(changes, reason):
    with pytest.raises(ClientRefused, match=reason):
        profile(client(1, **changes), DEFAULT_GENDERS, "zh-CN")


def test_customer_ids_are_c_and_ten_digits():
    assert customer_id(9_999_999_999) == "C9999999999"
    for bad in (10_000_000_000, -1, None):
        with pytest.raises(ClientRefused):
            customer_id(bad)
