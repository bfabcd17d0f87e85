"""The catalogue's rules (what a staff change may do, what it records), the view each
instance holds (redeemable, browsable, a partner's own), and the demo catalogue's scale."""

from __future__ import annotations

import csv
import dataclasses
from collections import Counter
from datetime import UTC, date, datetime

import pytest

from contracts.tiers import TIERS
from services.rewards.domain.catalogue import (
    CatalogueError,
    CatalogueView,
    LoungeEntry,
    OfferEntry,
    OfferFilter,
    as_json,
    change,
    create,
    page,
    remaining,
    withdraw,
)
from services.rewards.settings import CATALOGUE_DIR, read_lounges, read_offer_rows
from tools import catalogue as generator

NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)
TODAY = date(2026, 12, 1)
OFFER = OfferEntry(id="off_x", partner_id="ptn_x", merchant="X", industry="beauty",
                   title="X 护理", points_price=None, discount_percent=10,
                   valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31),
                   eligible_tiers=("gold", "oto_fortune"), limit_per_period=2, period="year",
                   cities=("珠海",))
LOUNGE = LoungeEntry(id="ZUH-T1-01", airport_code="ZUH", city="珠海", terminal="金湾",
                     name="珠海金湾航站楼贵宾休息室1号", operator_id="ptn_lounge",
                     operator="龙腾出行")


@pytest.mark.parametrize(("changes", "message"), [
    ({"points_price": 100}, "either a points price or a discount"),
    ({"discount_percent": None}, "either a points price or a discount"),
    ({"discount_percent": None, "points_price": 0}, "positive"),
    ({"discount_percent": 100}, "1 to 99"),
    ({"eligible_tiers": ()}, "eligible_tiers"),
    ({"eligible_tiers": ("gold", "diamond")}, "eligible_tiers"),
    ({"period": "week"}, "period"),
    ({"limit_per_period": 0}, "at least 1"),
    ({"valid_from": date(2027, 1, 1)}, "valid_from must not be after"),
])
def test_an_offer_breaking_a_rule_is_refused(changes, message):
    with pytest.raises(CatalogueError, match=message) as refused:
        create(None, dataclasses.replace(OFFER, **changes), 1, NOW)
    assert (refused.value.code, refused.value.status) == ("invalid_entry", 422)


def test_create_records_the_entry_its_audit_and_its_event_keyed_by_partner():
    recorded = create(None, dataclasses.replace(OFFER, eligible_tiers=("oto_fortune", "gold"),
                                                cities=("珠海", "无锡", "珠海")), 7, NOW)
    entry = recorded.entry
    assert (entry.version, entry.status, recorded.change, recorded.before) == (
        7, "active", "created", None)
    assert entry.eligible_tiers == ("gold", "oto_fortune")  # the programme's order
    assert entry.cities == ("无锡", "珠海")
    e = recorded.event
    assert (e.subject, e.kind, e.entry_id, e.change, e.version, e.valid_until) == (
        "ptn_x", "offer", "off_x", "created", 7, date(2026, 12, 31))
    with pytest.raises(CatalogueError) as exists:
        create(entry, OFFER, 8, NOW)
    assert (exists.value.code, exists.value.status) == ("entry_exists", 409)


@pytest.mark.parametrize(("existing", "fields", "code", "status"), [
    (None, {"title": "y"}, "not_found", 404),
    (dataclasses.replace(OFFER, status="withdrawn"), {"title": "y"}, "entry_withdrawn", 409),
    (OFFER, {"partner_id": "ptn_other"}, "invalid_entry", 422),   # whose it is stays
    (OFFER, {"status": "active"}, "invalid_entry", 422),          # withdrawing is its own
    (OFFER, {"valid_until": date(2025, 1, 1)}, "invalid_entry", 422),
    (OFFER, {"valid_from": None}, "invalid_entry", 422),         # an offer's window is closed
])
def test_changes_that_are_refused(existing, fields, code, status):
    with pytest.raises(CatalogueError) as refused:
        change(existing, "offer", "off_x", fields, 9, NOW)
    assert (refused.value.code, refused.value.status) == (code, status)


def test_a_change_or_schedule_keeps_what_it_was_and_a_withdrawal_is_final():
    scheduled = change(OFFER, "offer", "off_x", {"valid_from": date(2027, 1, 1),
                                                 "valid_until": date(2027, 6, 30)}, 9, NOW)
    assert scheduled.before == OFFER and scheduled.entry.version == 9
    assert not scheduled.entry.open_on(TODAY) and scheduled.entry.open_on(date(2027, 1, 1))
    reopened = change(LOUNGE, "lounge", LOUNGE.id, {"valid_until": None}, 9, NOW).entry
    assert reopened.valid_until is None and reopened.open_on(date(2099, 1, 1))
    assert as_json(scheduled.entry)["valid_from"] == "2027-01-01"
    gone = withdraw(scheduled.entry, "offer", "off_x", 10, NOW)
    assert (gone.entry.status, gone.event.status, gone.event.change) == (
        "withdrawn", "withdrawn", "withdrawn")
    with pytest.raises(CatalogueError, match="withdrawn"):
        withdraw(gone.entry, "offer", "off_x", 11, NOW)


@pytest.mark.parametrize(("valid_from", "valid_until", "status", "open_today"), [
    (None, None, "active", True),
    (date(2026, 12, 2), None, "active", False),     # scheduled from tomorrow
    (None, date(2026, 11, 30), "active", False),    # ended yesterday
    (date(2026, 12, 1), date(2026, 12, 1), "active", True),
    (None, None, "withdrawn", False),
])
def test_a_lounge_is_open_inside_its_window_while_active(valid_from, valid_until, status,
                                                         open_today):
    lounge = dataclasses.replace(LOUNGE, valid_from=valid_from, valid_until=valid_until,
                                 status=status)
    view = CatalogueView()
    view.apply([lounge], 1)
    assert (view.lounge(lounge.id, TODAY) is not None) is open_today
    assert view.of_partner("ptn_lounge") == [lounge]  # the partner sees it whatever its state


def test_the_view_keeps_the_newest_copy_and_redeems_only_active_offers():
    view = CatalogueView()
    view.apply([dataclasses.replace(OFFER, version=3)], 3)
    view.apply([dataclasses.replace(OFFER, version=2, title="older")], 3)
    assert view.offer("off_x").title == "X 护理" and view.version == 3
    view.apply([dataclasses.replace(OFFER, version=4, status="withdrawn")], 4)
    assert view.offer("off_x") is None and view.offers["off_x"].status == "withdrawn"
    assert view.browse_offers(OfferFilter(), TODAY) == []


def test_browsing_filters_by_city_industry_and_tier_and_pages_by_id():
    everywhere = dataclasses.replace(OFFER, id="off_a", cities=(), industry="coffee",
                                     eligible_tiers=TIERS)
    elsewhere = dataclasses.replace(OFFER, id="off_b", cities=("无锡",))
    premium = dataclasses.replace(OFFER, id="off_c", eligible_tiers=("private_banking",))
    view = CatalogueView()
    view.apply([OFFER, everywhere, elsewhere, premium], 1)

    def ids(**f) -> list[str]:
        return [o.id for o in view.browse_offers(OfferFilter(**f), TODAY)]
    assert ids(city="珠海") == ["off_a", "off_c", "off_x"]
    assert ids(industry="beauty") == ["off_b", "off_c", "off_x"]
    assert ids(tier="standard") == ["off_a"]
    assert ids(city="珠海", tier="gold", industry="beauty") == ["off_x"]
    items = view.browse_offers(OfferFilter(), TODAY)
    assert page(items, None, 3) == (items[:3], "off_c")
    assert page(items, "off_c", 3) == (items[3:], None)
    assert page(items, "off_zzz", 3) == ([], None)
    assert remaining(OFFER, 1) == 1 and remaining(OFFER, 5) == 0


def test_the_demo_catalogue_is_at_the_programmes_scale():
    with (CATALOGUE_DIR / "merchants.csv").open(encoding="utf-8") as file:
        merchants = list(csv.DictReader(file))
    offers, lounges = read_offer_rows(), read_lounges()
    assert 1100 <= len(merchants) <= 1300 and len({m["merchant_id"] for m in merchants}) == len(
        merchants)
    industries = {m["industry"] for m in merchants}
    assert len(industries) == 18 and {"beauty", "medical", "financial"} <= industries
    assert industries == {o["industry"] for o in offers}
    cities = {x["city"] for x in lounges}
    assert {"珠海", "无锡", "南昌", "宜昌", "常州"} <= cities
    # Every city the programme's airports name has lounges.
    assert {city for _, city, _ in generator.AIRPORTS} == cities
    # An offer is redeemable where its merchant has outlets.
    outlets = {(m["partner_id"], m["city"]) for m in merchants}
    assert all((o["partner_id"], c) in outlets for o in offers
               for c in o["cities"].split("|") if c)
    # Premium privileges mostly from OTO Fortune up; Standard gets a small part.
    lowest = Counter(o["eligible_tiers"].split("|")[0] for o in offers)
    assert lowest["oto_fortune"] + lowest["private_banking"] > len(offers) * 0.45
    assert lowest["standard"] < len(offers) * 0.2


def test_the_generator_writes_the_committed_files():
    outlets, offer_rows, lounge_rows = generator.catalogue()
    for name, rows in (("merchants", outlets), ("offers", offer_rows),
                       ("lounges", lounge_rows)):
        with (CATALOGUE_DIR / f"{name}.csv").open(encoding="utf-8") as file:
            assert list(csv.DictReader(file)) == [{k: str(v) for k, v in r.items()}
                                                  for r in rows], name
