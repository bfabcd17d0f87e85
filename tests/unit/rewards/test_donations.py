"""Giving points, as the domain decides it: the charities file, a donation's refusals and
bounds, the saga's outcome as a donation, the answers the app hears, the yearly total."""

import json
import tomllib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from contracts.rewards.v1 import RedemptionConfirmed, RedemptionRejected, RedemptionRequested
from services.rewards.domain.donations import (
    donation,
    idempotency_owner,
    parse_charities,
    request_hash,
    year_bounds,
    year_total,
)
from services.rewards.domain.errors import Refused
from services.rewards.schemas import donated, settled
from services.rewards.settings import CHARITIES_FILE, load_charities

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOPE = {"id": "chr_project_hope", "name": {"zh-CN": "希望工程", "en-US": "Project Hope"},
        "min_points": 100, "max_points": 5000}
CHARITIES = parse_charities({"charities": [HOPE]})


def give(points: int, charity_id: str = "chr_project_hope", *, closed: bool = False,
         id: str = "rdm_1", now: datetime = NOW):
    return donation(CHARITIES.get(charity_id), charity_id, points, member_id="C0000000001",
                    closed=closed, id=id, now=now)


def test_the_shipped_charities_load_with_both_names():
    charities = load_charities(CHARITIES_FILE)
    assert charities and all(c.id.startswith("chr_") and c.name_zh and c.name_en
                             for c in charities.values())


@pytest.mark.parametrize("change, why", [
    ({"min_points": 6000}, "min_points above max_points"),
    ({"id": "ptn_hope"}, "pattern"),
    ({"name": {"zh-CN": "希望工程"}}, "en-US"),
    ({"max_points": 0}, "max_points"),
    ({"colour": "green"}, "colour"),
])
def test_a_bad_charity_entry_stops_the_start(change, why):
    with pytest.raises(ValueError, match=why):
        parse_charities({"charities": [HOPE | change]})


def test_a_charity_named_twice_or_an_unknown_key_stops_the_start():
    with pytest.raises(ValueError, match="named twice"):
        parse_charities({"charities": [HOPE, HOPE]})
    with pytest.raises(ValueError, match="unknown keys"):
        parse_charities({"charities": [HOPE], "charity": []})
    assert parse_charities(tomllib.loads("")) == {}


def test_a_donation_asks_the_points_service_for_its_points():
    d = give(100)
    assert (d.kind, d.status, d.partner_id, d.item_id, d.points, d.usage_taken) == (
        "donation", "pending", "chr_project_hope", "chr_project_hope", 100, 0)
    assert (d.title, d.title_en) == ("希望工程", "Project Hope")
    [asked] = d.events
    assert isinstance(asked, RedemptionRequested)
    assert (asked.kind, asked.partner_id, asked.item_id, asked.points) == (
        "donation", "chr_project_hope", "chr_project_hope", 100)


@pytest.mark.parametrize("points, charity_id, closed, code", [
    (100, "chr_unknown", False, "unknown_charity"),
    (100, "chr_project_hope", True, "member_closed"),
    (99, "chr_project_hope", False, "donation_out_of_range"),
    (5001, "chr_project_hope", False, "donation_out_of_range"),
])
def test_refusals(points, charity_id, closed, code):
    with pytest.raises(Refused) as refused:
        give(points, charity_id, closed=closed)
    assert (refused.value.code, refused.value.status) == (code, 422)


def test_the_bounds_are_inclusive():
    assert give(5000).points == 5000


def test_the_saga_confirms_it_with_the_charity_in_both_languages():
    d = give(800)
    d.events.clear()
    d.status = "confirmed"
    d.settled(NOW)
    [confirmed] = d.events
    assert isinstance(confirmed, RedemptionConfirmed)
    assert (confirmed.kind, confirmed.title, confirmed.title_en, confirmed.points) == (
        "donation", "希望工程", "Project Hope", 800)


def test_the_member_hears_the_donation_or_why_it_was_rejected():
    d = give(800)
    waiting = donated(d, 202)
    assert waiting.status == 202 and json.loads(waiting.content)["status"] == "pending"
    d.status, d.settled_at = "confirmed", NOW
    answer = settled(d)
    assert answer.status == 201
    assert json.loads(answer.content) | {"created_at": 0, "settled_at": 0} == {
        "id": "rdm_1", "charity_id": "chr_project_hope", "charity": "希望工程",
        "charity_en": "Project Hope", "points": 800, "status": "confirmed", "reason": None,
        "created_at": 0, "settled_at": 0}
    d.status, d.reason = "rejected", "insufficient_points"
    d.settled(NOW)
    assert isinstance(d.events[-1], RedemptionRejected)
    answer = settled(d)
    assert answer.status == 422
    assert json.loads(answer.content) == {
        "code": "insufficient_points", "message": "the member does not have enough points",
        "redemption_id": "rdm_1"}


def test_the_yearly_total_counts_confirmed_donations_only():
    made = [give(100, id="rdm_a"), give(200, id="rdm_b"), give(400, id="rdm_c")]
    made[0].status = made[1].status = "confirmed"
    made[2].status = "rejected"
    total = year_total(2026, made)
    assert (total.year, total.points, total.count) == (2026, 300, 2)
    assert (year_total(2026, []).points, year_total(2026, []).count) == (0, 0)


def test_the_year_is_the_programmes_calendar_year():
    start, end = year_bounds(2027, SHANGHAI)
    # 17:00 UTC on New Year's Eve is already 2027 in Shanghai.
    assert start <= datetime(2026, 12, 31, 17, tzinfo=UTC) < end
    assert not start <= datetime(2026, 12, 31, 15, 59, tzinfo=UTC) < end


def test_a_key_is_the_members_and_bound_to_the_request():
    assert idempotency_owner("C0000000001") == "member:C0000000001"
    assert request_hash("chr_project_hope", 100) == request_hash("chr_project_hope", 100)
    assert request_hash("chr_project_hope", 100) != request_hash("chr_project_hope", 101)
    assert request_hash("chr_project_hope", 100) != request_hash("chr_spring_buds", 100)
