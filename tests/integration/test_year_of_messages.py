"""A short simulated year (tools/year) on the real broker and database: three members of the
cast live from mid-January to early April 2026 through the four services, the notifications
clock moved tick by tick. What the provider sandbox received: the right salutation in one
script, the member's local dates, nothing in quiet hours but transactional messages,
nothing twice, no marketing to the member without consent, none after the stop reply
(which reached accounts and came back)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest

from tools.year.report import checks, received, render, stop_time
from tools.year.run import simulate

pytestmark = pytest.mark.integration
ZHANG, LIU, LI = 1, 3, 4  # Gold in English; no marketing consent; replies TD


@pytest.fixture(scope="module")
async def year(infra):
    return await simulate(date(2026, 1, 15), date(2026, 4, 10), pick=(ZHANG, LIU, LI))


def by_template(year, sample) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for entry in received(year, sample):
        out.setdefault(entry["template"], []).append(entry)
    return out


async def test_the_year_keeps_every_rule(year):
    assert {name: broken for name, broken in checks(year).items() if broken} == {}
    assert len(year.sent) == len({e["message_id"] for e in year.sent}) > 20
    assert "Checks" in render(year, markdown=True)


async def test_english_messages_say_dear_mr_zhang_with_local_dates(year):
    zhang = year.samples[0]
    got = by_template(year, zhang)
    summaries = got["points_summary"]
    assert len(summaries) >= 5
    for entry in summaries:  # the day's summary at 20:00, naming that local day
        assert entry["local"].strftime("%H:%M") == "20:00"
        assert entry["text"].startswith(
            f"【XX银行】Dear Mr Zhang, on {entry['local']:%Y-%m-%d} you earned ")
    [spring] = got["spring_festival"]
    assert (spring["local"].date(), spring["local"].hour) == (date(2026, 2, 17), 10)
    assert "Dear Mr Zhang, happy Chinese New Year!" in spring["text"]
    # the offers of February and March (the spending of the months before), with opt-out
    offers = got["offers_recommended"]
    assert [e["local"].strftime("%m-%d %H:%M") for e in offers] == ["02-01 08:00",
                                                                     "03-01 08:00",
                                                                     "04-01 08:00"]
    assert all(e["text"].endswith("Reply STOP or R to opt out") for e in offers)
    for entry in received(year, zhang):
        assert not re.search(r"[\u4e00-\u9fff]", entry["text"].removeprefix("【XX银行】"))


async def test_no_marketing_without_consent_and_none_after_the_stop_reply(year):
    _, liu, li = year.samples
    assert {e["row"]["category"] for e in received(year, liu)} == {"service"}
    assert all(e["text"].startswith("【XX银行】刘先生，") for e in received(year, liu))
    refused = Counter(r["template"] for r in year.log.values()
                      if r["member_id"] == liu.id and r["reason"] == "no_consent")
    assert refused["offers_recommended"] >= 2  # recommended, never sent

    stopped = stop_time(year, li)
    before = [e for e in received(year, li) if e["local"] < stopped]
    after = [e for e in received(year, li) if e["local"] >= stopped]
    assert {"spring_festival", "offers_recommended"} <= {e["template"] for e in before}
    assert after and {e["row"]["category"] for e in after} == {"service"}
    assert all(e["text"].startswith("【XX银行】李女士，") for e in received(year, li))
    # the offers of the months after the stop and the salon's invitation (her tier's):
    # asked for, not sent
    refused = Counter(r["template"] for r in year.log.values()
                      if r["member_id"] == li.id and r["reason"] == "no_consent")
    assert refused["offers_recommended"] >= 1 and refused["salon_invitation"] == 1
    [(_, _, answer)] = [a for a in year.acts if a[1].kind == "stop"]
    assert answer.startswith("200")
    assert year.consents[li.id] == (False, "sms_reply")  # withdrawn in accounts too
    assert year.consents[liu.id] == (False, None)
