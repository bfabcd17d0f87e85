"""The shipped tier programme holds the architecture's defaults; a bad file is refused at
start-up with a reason."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.accounts.domain.programme import parse_programme


def test_the_shipped_programme_holds_the_documented_defaults(programme):
    assert programme.timezone == "Asia/Shanghai"
    assert programme.downgrade_after_months == 3
    assert {t: r.min_assets for t, r in programme.tiers.items()} == {
        "standard": 0, "gold": 50_000, "oto_fortune": 500_000, "private_banking": 6_000_000}
    assert {t: r.lounge_visits for t, r in programme.tiers.items()} == {
        "standard": 0, "gold": 2, "oto_fortune": 6, "private_banking": None}
    assert {t: r.points_multiplier for t, r in programme.tiers.items()} == {
        "standard": Decimal("1.0"), "gold": Decimal("1.2"), "oto_fortune": Decimal("1.5"),
        "private_banking": Decimal("2.0")}


@pytest.mark.parametrize("assets, tier", [
    ("0", "standard"), ("49999.99", "standard"), ("50000", "gold"), ("499999.99", "gold"),
    ("500000", "oto_fortune"), ("5999999.99", "oto_fortune"), ("6000000", "private_banking"),
])
def test_thresholds_are_inclusive(programme, assets, tier):
    assert programme.qualifies_for(Decimal(assets)) == tier


@pytest.mark.parametrize("change, message", [
    (lambda p: p["tiers"].pop("gold"), "gold"),
    (lambda p: p["tiers"]["gold"].update(min_assets="600000"), "rise strictly"),
    (lambda p: p["tiers"]["standard"].update(min_assets="1"), "standard must start at 0"),
    (lambda p: p["tiers"]["gold"].update(points_multiplier=1.2), "strings"),
    (lambda p: p.update(downgrade_after_months=0), "downgrade_after_months"),
    (lambda p: p.update(timezone="Mars/Olympus"), "unknown time zone"),
    (lambda p: p.update(grace=3), "grace"),  # a misspelt key is not ignored
])
def test_a_bad_programme_is_refused(programme_data, change, message):
    change(programme_data)
    with pytest.raises(ValidationError, match=message):
        parse_programme(programme_data)
