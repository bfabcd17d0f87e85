"""The shipped programme is the architecture's defaults, and a bad programme file is
refused at start-up with a reason."""

from datetime import datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from contracts.tiers import TIERS
from services.points.domain.rules import parse_rules


def test_the_shipped_programme_holds_the_documented_defaults(rules):
    assert rules.timezone == "Asia/Shanghai"
    assert (rules.caps.per_transaction, rules.caps.monthly_bonus) == (50_000, 20_000)
    assert rules.caps.monthly_bonus_counts_tier is False
    excluded = {c.id: c.mccs for c in rules.excluded}
    assert excluded == {
        "excluded-cash-quasi-cash": {"6010", "6011", "6012", "6051"},
        "excluded-money-transfer": {"4829"},
        "excluded-gambling": {"7995"},
        "excluded-government-tax": {"9211", "9222", "9311", "9399"},
        "excluded-charity": {"8398"},
        "excluded-real-estate": {"6513"},
        "excluded-utilities": {"4900"},
        "excluded-insurance": {"5960", "6300", "6381", "6399"},
        "excluded-schools": {"8211", "8220", "8241", "8244", "8249", "8299"},
        "excluded-hospitals": {"8062", "8011", "8099"},
        "excluded-wholesale-clubs": {"5300"},
        "excluded-prepaid-loads": {"6529", "6530", "6540"},
        "excluded-pawn-shops": {"5933"},
        "excluded-car-purchases": {"5511", "5521"},
    }
    assert all(c.reason for c in rules.excluded)
    assert [(c.id, c.channels, c.rate) for c in rules.channels] == [
        ("third-party-payment-x0.5", {"alipay", "wechat_pay"}, Decimal("0.5"))]
    bonus = {c.id: (c.multiplier, c.mccs) for c in rules.bonus}
    travel = {f"{m:04d}" for m in [*range(3000, 3300), 4511, *range(3501, 4000), 7011, 4722]}
    assert bonus == {"dining-x2": (Decimal(2), {"5812", "5813", "5814"}),
                     "travel-x3": (Decimal(3), travel)}
    assert {t: r.multiplier for t, r in rules.tiers.items()} == {
        "standard": Decimal("1.0"), "gold": Decimal("1.2"), "oto_fortune": Decimal("1.5"),
        "private_banking": Decimal("2.0")}
    assert all(not c.enabled for c in rules.campaigns)


def _break(programme, change):
    change(programme)
    with pytest.raises(ValidationError) as raised:
        parse_rules(programme)
    return str(raised.value)


@pytest.mark.parametrize("change, reason", [
    (lambda p: p["tiers"]["gold"].update(multiplier=1.2), "write multipliers as strings"),
    (lambda p: p["tiers"].pop("gold"), "tiers without a multiplier: gold"),
    (lambda p: p["tiers"]["gold"].update(multiplier="0.8"), "greater than or equal to 1"),
    (lambda p: p["caps"].update(per_transacton=1), "Extra inputs are not permitted"),
    (lambda p: p.update(timezone="Asia/Shangai"), "unknown time zone"),
    (lambda p: p["bonus"][0]["mccs"].append("6011"), "MCC 6011 is in both"),
    (lambda p: p["bonus"][1]["mccs"].append("3999-3501"), "runs backwards"),
    (lambda p: p["bonus"][1]["mccs"].append("35O1"), "neither an MCC nor a range"),
    (lambda p: p["excluded"][1].update(id="dining-x2"), "rule ids used twice: dining-x2"),
    (lambda p: p["campaigns"][0].update(ends_at=p["campaigns"][0]["starts_at"]),
     "ends_at must be after starts_at"),
    (lambda p: p["campaigns"][0].update(starts_at=datetime(2026, 1, 1)), "timezone"),
    (lambda p: p["campaigns"][0].update(multiplier="1.23456"), "more than 4 decimal places"),
    (lambda p: p["excluded"][0].pop("reason"), "reason\n  Field required"),
    (lambda p: p["excluded"][0].update(reason="  "), "at least 1 character"),
    (lambda p: p["channels"][0].update(rate="1.5"), "less than or equal to 1"),
    (lambda p: p["channels"][0].update(rate=0.5), "write multipliers as strings"),
    (lambda p: p["channels"][0].pop("reason"), "reason\n  Field required"),
    (lambda p: p["channels"].append({**p["channels"][0], "id": "again"}),
     "channel alipay is in both"),
    (lambda p: p["channels"][0].update(channels=["Alipay!"]), "String should match pattern"),
    (lambda p: p["caps"].update(monthly_bonus_counts_tier="sometimes"), "valid boolean"),
])
def test_a_bad_programme_is_refused(programme, change, reason):
    assert reason in _break(programme, change)


def test_every_tier_is_configured(rules):
    assert set(rules.tiers) == set(TIERS)
