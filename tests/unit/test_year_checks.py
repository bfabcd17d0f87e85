"""The simulated year's checks (tools/year/report.py) find each kind of broken rule, and its
cast is what the year needs (tools/year/cast.py)."""

from __future__ import annotations

import random
from datetime import date, datetime

from simulator.spending import CardSpending
from tools.year.cast import SHANGHAI, cast, purchases
from tools.year.report import checks
from tools.year.run import Year

START, END = date(2026, 1, 1), date(2026, 12, 31)


def year_with(*sends: tuple[int, str, str, datetime]) -> Year:
    """A year whose sandbox accepted `sends`: (member index, message id, category, when)."""
    samples = cast(16, START, END)
    sent, log = [], {}
    for index, message_id, category, when in sends:
        customer = samples[index].customer
        sent.append({"to": customer.wechat_openid or customer.mobile, "channel": "sms",
                     "template": "t", "text": "x", "message_id": message_id,
                     "at": when.timestamp()})
        log[message_id] = {"member_id": customer.customer_id, "template": "t",
                           "category": category, "state": "sent", "reason": None,
                           "cause_id": message_id}
    stop = next(a for s in samples for a in s.acts if a.kind == "stop")
    return Year(START, END, samples, sent, log, acts=[(samples[4].id, stop, "200")])


def broken(year: Year) -> dict[str, int]:
    return {name: len(found) for name, found in checks(year).items() if found}


def at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def test_a_clean_year_breaks_nothing():
    assert broken(year_with((0, "a", "marketing", at(2, 17, 10)),
                            (3, "b", "service", at(3, 1, 20)),
                            (4, "c", "marketing", at(3, 1, 8)),
                            (1, "d", "transactional", at(6, 1, 2)))) == {}


def test_each_broken_rule_is_found():
    assert broken(year_with(
        (0, "a", "service", at(2, 17, 22)),          # at night
        (1, "b", "marketing", at(2, 17, 10)),
        (1, "b", "marketing", at(2, 17, 10)),        # twice
        (3, "c", "marketing", at(3, 1, 10)),         # no consent
        (4, "d", "marketing", at(12, 1, 8)),         # after the stop reply
    )) == {"no service or marketing message in quiet hours (21:00-08:00)": 1,
           "no message sent twice": 1, "no marketing without consent": 1,
           "no marketing after the stop reply": 1}


def test_the_cast_shows_the_variety_asked_for():
    samples = cast(16, START, END)
    c = [s.customer for s in samples]
    assert len({x.customer_id for x in c}) == len({x.mobile for x in c}) == 5
    assert (c[0].family_name, c[0].gender, c[0].preferred_language) == ("王", "female", "zh-CN")
    assert c[0].wechat_openid and c[0].birth_date.year <= 1966  # 60 and over: Double Ninth
    assert [x.gender for x in c[1:3]] == ["male", "unknown"]
    assert [x.marketing_consent for x in c] == [True, True, True, False, True]
    assert [a.kind for a in samples[4].acts] == ["stop"]
    assert all(START <= a.at.date() <= END for s in samples for a in s.acts)
    short = cast(16, date(2026, 1, 15), date(2026, 2, 1), pick=(1, 4))
    assert [s.id for s in short] == [samples[1].id, samples[4].id]


def test_purchases_are_the_spending_models_and_reproducible():
    sample = cast(16, START, END)[1]

    def draw() -> list:
        return purchases(random.Random(3), CardSpending(random.Random(4)), sample,
                         date(2026, 3, 1), date(2026, 5, 31))
    first = draw()
    assert first == draw() and 6 <= len(first) <= 24
    assert all(p.customer_id == sample.id for p in first)
    assert [p.posted_at for p in first] == sorted(p.posted_at for p in first)
