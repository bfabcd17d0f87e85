"""Simulated customers look like the bank's: names, phones, WeChat, consents, wealth."""

import random
import re
from collections import Counter
from datetime import date, datetime

import pytest

from contracts.corebanking.v1 import CustomerOnboarded, CustomerUpdated
from simulator.population import (
    MOBILE_PREFIXES,
    changed_profile,
    make_customers,
    monthly_assets,
    onboarded,
    updated,
)
from simulator.spending import SHANGHAI

AT = datetime(2025, 6, 1, tzinfo=SHANGHAI)
N = 20_000


@pytest.fixture(scope="module")
def customers():
    return make_customers(random.Random(11), N, AT)


def _share(items, predicate) -> float:
    return sum(1 for item in items if predicate(item)) / len(items)


def test_identities_are_unique_and_well_formed(customers) -> None:
    assert len({c.customer_id for c in customers}) == N
    assert len({c.mobile for c in customers}) == N
    assert all(re.fullmatch(r"C[0-9]{10}", c.customer_id) for c in customers)
    assert all(c.mobile[3:6] in MOBILE_PREFIXES and len(c.mobile) == 14 for c in customers)
    assert {c.mobile[3:5] for c in customers} == {"13", "15", "18", "19"}


def test_demographics(customers) -> None:
    surnames = Counter(c.family_name for c in customers)
    assert {name for name, _ in surnames.most_common(5)} & {"王", "李", "张", "刘", "陈"}
    assert 0.02 < _share(customers, lambda c: c.gender == "unknown") < 0.06
    assert all(date(1950, 1, 1) <= c.birth_date <= date(2005, 12, 31) for c in customers)
    assert all(1 <= len(c.given_name) <= 2 for c in customers)
    assert all(c.onboarded_at <= AT for c in customers)


def test_contact_and_consents(customers) -> None:
    openids = [c.wechat_openid for c in customers if c.wechat_openid]
    assert 0.55 < len(openids) / N < 0.65
    assert all(re.fullmatch(r"o[A-Za-z0-9_-]{27}", o) for o in openids)
    assert 0.82 < _share(customers, lambda c: c.preferred_language == "zh-CN") < 0.88
    assert _share(customers, lambda c: c.service_consent) > 0.9
    assert 0.35 < _share(customers, lambda c: c.marketing_consent) < 0.45


def test_tiers_by_monthly_assets(customers) -> None:
    rng = random.Random(12)
    assets = [float(monthly_assets(rng, c)) for c in customers]
    assert 0.66 < _share(assets, lambda a: a < 50_000) < 0.74
    assert 0.17 < _share(assets, lambda a: 50_000 <= a < 500_000) < 0.23
    assert 0.06 < _share(assets, lambda a: 500_000 <= a < 6_000_000) < 0.10
    assert 0.01 < _share(assets, lambda a: a >= 6_000_000) < 0.03


def test_profile_events_validate_and_changes_change_something(customers) -> None:
    rng = random.Random(13)
    for customer in customers[:300]:
        CustomerOnboarded.model_validate_json(onboarded(customer).model_dump_json())
        changed = changed_profile(rng, customer)
        assert changed != customer
        assert changed.customer_id == customer.customer_id
        event = updated(changed, AT)
        CustomerUpdated.model_validate_json(event.model_dump_json(exclude_none=True))
