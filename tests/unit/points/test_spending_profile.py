"""The spending profile: purchases by MCC counted and summed by the catalogue's industries
(contracts/industries.py, the one map), most purchases first, deterministic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts.industries import ENGLISH, INDUSTRIES, industries_of
from services.points.domain.spending import IndustryTotal, by_industry


@pytest.mark.parametrize(("mcc", "expected"), [
    ("5411", ("supermarket",)),
    ("5812", ("dining",)),
    ("5814", ("fast_food", "coffee", "tea")),  # fast food and coffee shops share one code
    ("3005", ("travel",)),    # an airline by name
    ("3504", ("hotels",)),    # a hotel chain by name
    ("7011", ("hotels",)),
    ("5399", ("ecommerce",)),
    ("6011", ()),             # cash counts for no industry
    ("9311", ()),             # nor do taxes
])
def test_an_mcc_counts_towards_its_industries(mcc, expected):
    assert industries_of(mcc) == expected


def test_every_industry_has_an_english_name():
    assert set(ENGLISH) == set(INDUSTRIES)


@pytest.mark.parametrize(("by_mcc", "expected"), [
    ([], []),
    ([("6011", 5, Decimal("500"))], []),
    ([("5812", 3, Decimal("300")), ("5411", 5, Decimal("100"))],
     [IndustryTotal("supermarket", 5, Decimal("100")), IndustryTotal("dining", 3, Decimal("300"))]),
    # a tie in purchases: more spend first, then by name
    ([("5812", 2, Decimal("90")), ("5411", 2, Decimal("100")), ("7832", 2, Decimal("100"))],
     [IndustryTotal("cinema", 2, Decimal("100")), IndustryTotal("supermarket", 2, Decimal("100")),
      IndustryTotal("dining", 2, Decimal("90"))]),
    # two MCCs of one industry add up; one MCC of three counts for each
    ([("5311", 1, Decimal("10")), ("5651", 2, Decimal("20")), ("5814", 4, Decimal("40"))],
     [IndustryTotal("coffee", 4, Decimal("40")), IndustryTotal("fast_food", 4, Decimal("40")),
      IndustryTotal("tea", 4, Decimal("40")), IndustryTotal("retail", 3, Decimal("30"))]),
])
def test_purchases_are_totalled_by_industry_most_first(by_mcc, expected):
    assert by_industry(by_mcc) == expected
