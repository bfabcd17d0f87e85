"""Offers that fit: which offers a member can use (tier, city, window, not used up), and
how the usable ones are ranked by the member's own spending, three at most, deterministic."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from services.rewards.domain.catalogue import OfferEntry
from services.rewards.domain.recommendations import (
    MAX_OFFERS,
    Member,
    english_title,
    recommend,
    usable,
)

TODAY = date(2027, 3, 1)


def offer(id_: str, industry: str = "coffee", tiers=("standard", "gold", "oto_fortune",
          "private_banking"), cities=("广州",), limit=2, period="month", **kw) -> OfferEntry:
    return OfferEntry(id=id_, partner_id=f"ptn_{id_}", merchant=kw.pop("merchant", "星巴克"),
                      industry=industry, title=kw.pop("title", f"{id_} 兑换券"),
                      points_price=kw.pop("points_price", 800),
                      discount_percent=kw.pop("discount_percent", None),
                      valid_from=kw.pop("valid_from", date(2027, 1, 1)),
                      valid_until=kw.pop("valid_until", date(2027, 12, 31)),
                      eligible_tiers=tuple(tiers), limit_per_period=limit, period=period,
                      cities=tuple(cities), **kw)


GOLD_IN_GUANGZHOU = Member(tier="gold", city="广州", interests=[("coffee", 5)])


@pytest.mark.parametrize(("entry", "member", "used", "expected"), [
    (offer("a"), GOLD_IN_GUANGZHOU, {}, True),
    (offer("a", tiers=("oto_fortune", "private_banking")), GOLD_IN_GUANGZHOU, {}, False),
    (offer("a", cities=("深圳",)), GOLD_IN_GUANGZHOU, {}, False),
    (offer("a", cities=()), GOLD_IN_GUANGZHOU, {}, True),                  # online: anywhere
    (offer("a"), dataclasses.replace(GOLD_IN_GUANGZHOU, city=None), {}, False),
    (offer("a", cities=()), dataclasses.replace(GOLD_IN_GUANGZHOU, city=None), {}, True),
    (offer("a", valid_from=date(2027, 3, 2)), GOLD_IN_GUANGZHOU, {}, False),  # scheduled
    (offer("a", valid_until=date(2027, 2, 28)), GOLD_IN_GUANGZHOU, {}, False),  # ended
    (offer("a", status="withdrawn"), GOLD_IN_GUANGZHOU, {}, False),
    (offer("a", limit=2), GOLD_IN_GUANGZHOU, {("a", "2027-03"): 1}, True),
    (offer("a", limit=2), GOLD_IN_GUANGZHOU, {("a", "2027-03"): 2}, False),   # used up
    (offer("a", limit=2), GOLD_IN_GUANGZHOU, {("a", "2027-02"): 2}, True),    # last month's
    (offer("a", period="year", limit=1), GOLD_IN_GUANGZHOU, {("a", "2027"): 1}, False),
])
def test_an_offer_is_usable_by_tier_city_window_and_what_is_left(entry, member, used,
                                                                   expected):
    assert usable(entry, member, TODAY, used) is expected


CATALOGUE = [
    offer("cof_1", "coffee"), offer("cof_2", "coffee"), offer("cof_3", "coffee"),
    offer("din_1", "dining", tiers=("gold", "oto_fortune", "private_banking")),
    offer("din_2", "dining", tiers=("oto_fortune", "private_banking")),
    offer("hot_1", "hotels", cities=()),
    offer("gol_1", "golf", tiers=("private_banking",)),
    offer("sup_1", "supermarket"),
]


@pytest.mark.parametrize(("member", "used", "expected"), [
    # most purchases first, one offer per industry before a second of any
    (Member("gold", "广州", [("dining", 9), ("coffee", 4), ("hotels", 2), ("supermarket", 1)]),
     {}, ["din_1", "cof_1", "hot_1"]),
    # a tie in purchases: as the profile orders them (more spend first)
    (Member("gold", "广州", [("hotels", 3), ("coffee", 3)]), {}, ["hot_1", "cof_1", "cof_2"]),
    (Member("gold", "广州", [("coffee", 3), ("hotels", 3)]), {}, ["cof_1", "hot_1", "cof_2"]),
    (Member("gold", "广州", [("hotels", 1), ("coffee", 3)]), {}, ["cof_1", "hot_1", "cof_2"]),
    # one industry: its offers, by id
    (Member("standard", "广州", [("coffee", 30)]), {}, ["cof_1", "cof_2", "cof_3"]),
    # a higher tier's own privilege first within its industry
    (Member("oto_fortune", "广州", [("dining", 2)]), {}, ["din_2", "din_1"]),
    # used up this month: the next one
    (Member("gold", "广州", [("coffee", 5)]), {("cof_1", "2027-03"): 2},
     ["cof_2", "cof_3"]),
    # all used up: none
    (Member("gold", "广州", [("dining", 5)]), {("din_1", "2027-03"): 2}, []),
    # not the member's tier, not their city, or industries they never buy in: none
    (Member("standard", "广州", [("golf", 4), ("dining", 3)]), {}, []),
    (Member("gold", "深圳", [("coffee", 4), ("hotels", 1)]), {}, ["hot_1"]),
    (Member("gold", None, [("coffee", 4), ("hotels", 1)]), {}, ["hot_1"]),
    (Member("private_banking", "广州", []), {}, []),
])
def test_usable_offers_are_ranked_by_the_members_spending(member, used, expected):
    picked = recommend(CATALOGUE, member, TODAY, used)
    assert [o.id for o in picked] == expected
    assert len(picked) <= MAX_OFFERS


def test_the_same_profile_gives_the_same_offers_whatever_the_catalogues_order():
    member = Member("private_banking", "广州", [("coffee", 2), ("dining", 2), ("golf", 2)])
    assert recommend(CATALOGUE, member, TODAY, {}) == recommend(CATALOGUE[::-1], member,
                                                               TODAY, {})


@pytest.mark.parametrize(("entry", "expected"), [
    (offer("a", title="星巴克 饮品8折券", points_price=None, discount_percent=20),
     "Coffee: 20% off"),
    (offer("a", industry="hotels", title="亚朵酒店 高级客房一晚", points_price=45000),
     "Hotels: reward for 45,000 points"),
    (offer("a", title="Manner Coffee latte"), "Manner Coffee latte"),
])
def test_an_english_title_never_carries_chinese(entry, expected):
    assert english_title(entry) == expected
