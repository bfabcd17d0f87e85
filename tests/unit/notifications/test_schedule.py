"""Quiet hours, the daily cap, and when summaries and birthday greetings go."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifications.domain.schedule import (
    SHANGHAI,
    Rules,
    in_quiet_hours,
    is_birthday,
    next_allowed,
    plan,
    summary_day,
)
from services.notifications.settings import load_templates

RULES = Rules(daily_cap=2)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("moment", "quiet"), [
    (at(10, 7, 59), True), (at(10, 8, 0), False), (at(10, 20, 59), False),
    (at(10, 21, 0), True), (at(10, 23, 30), True), (at(10, 0, 0), True),
])
def test_quiet_hours(moment, quiet) -> None:
    assert in_quiet_hours(moment, RULES) is quiet


@pytest.mark.parametrize(("moment", "allowed"), [
    (at(10, 12), at(10, 12)),          # daytime: now
    (at(10, 22), at(11, 8)),           # evening: next morning
    (at(11, 3), at(11, 8)),            # night: this morning
])
def test_next_allowed(moment, allowed) -> None:
    assert next_allowed(moment, RULES) == allowed


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1),
                    timezones=st.just(SHANGHAI)))
def test_next_allowed_is_never_quiet_never_earlier_and_within_11_hours(moment) -> None:
    allowed = next_allowed(moment, RULES)
    assert not in_quiet_hours(allowed, RULES)
    assert moment <= allowed <= moment + timedelta(hours=11)


def test_transactional_messages_go_at_once_even_at_night_and_uncounted() -> None:
    counted = {date(2026, 3, 10): 99}
    slot = plan("transactional", at(10, 23), counted, RULES)
    assert (slot.state, slot.not_before, slot.day) == ("queued", at(10, 23), None)


def test_news_waits_for_the_morning_uncounted_and_never_capped() -> None:
    counted = {date(2026, 3, 11): 99}
    night = plan("transactional", at(11, 2), counted, RULES, waits_for_morning=True)
    day = plan("transactional", at(11, 14), counted, RULES, waits_for_morning=True)
    assert (night.state, night.not_before, night.day) == ("queued", at(11, 8), None)
    assert (day.state, day.not_before) == ("queued", at(11, 14))
    assert counted == {date(2026, 3, 11): 99}


def test_tier_changes_wait_for_the_morning_answers_do_not() -> None:
    templates = load_templates()
    assert {n for n, t in templates.items() if t.waits_for_morning} == {
        "tier_upgraded", "tier_downgraded", "tier_override_ended", "tier_set_by_staff"}
    assert not templates["redemption_confirmed"].waits_for_morning


def test_service_messages_over_the_cap_move_to_the_next_morning() -> None:
    counted: dict = {}
    slots = [plan("service", at(10, 12), counted, RULES) for _ in range(3)]
    assert [s.not_before for s in slots] == [at(10, 12), at(10, 12), at(11, 8)]
    assert [s.day for s in slots] == [date(2026, 3, 10)] * 2 + [date(2026, 3, 11)]
    assert counted == {date(2026, 3, 10): 2, date(2026, 3, 11): 1}


def test_marketing_over_the_cap_is_dropped_as_capped() -> None:
    counted = {date(2026, 3, 10): 2}
    assert plan("marketing", at(10, 12), counted, RULES).state == "capped"
    assert counted == {date(2026, 3, 10): 2}


def test_a_night_message_counts_against_the_morning_it_goes() -> None:
    slot = plan("service", at(10, 22), {}, RULES)
    assert (slot.not_before, slot.day) == (at(11, 8), date(2026, 3, 11))


@pytest.mark.parametrize(("earned", "day"), [
    (at(10, 0, 5), date(2026, 3, 10)), (at(10, 19, 59), date(2026, 3, 10)),
    (at(10, 20, 0), date(2026, 3, 11)), (at(10, 15), date(2026, 3, 10)),
    (datetime(2026, 3, 10, 12, 30, tzinfo=UTC), date(2026, 3, 11)),  # 20:30 in Shanghai
])
def test_summary_day(earned, day) -> None:
    assert summary_day(earned, RULES) == day


@pytest.mark.parametrize(("born", "today", "greet"), [
    (date(1990, 3, 10), date(2026, 3, 10), True),
    (date(1990, 3, 10), date(2026, 3, 11), False),
    (date(1992, 2, 29), date(2026, 2, 28), True),    # no 29 February in 2026
    (date(1992, 2, 29), date(2028, 2, 28), False),   # 2028 has one
    (date(1992, 2, 29), date(2028, 2, 29), True),
])
def test_birthdays(born, today, greet) -> None:
    assert is_birthday(born, today) is greet
