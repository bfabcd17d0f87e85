"""Care days: festival dates from the lunar calendar library, the Double Ninth's age
threshold, membership anniversaries (29 February too), one greeting per member, occasion
and year, and greetings only in the day's greeting time."""

from datetime import date, datetime, time

import pytest

from services.notifications.domain.care_days import (
    anniversary_intent,
    anniversary_keys,
    festival_date,
    festival_intent,
    festivals_on,
    is_senior,
    membership_years,
)
from services.notifications.domain.messages import values_for
from services.notifications.domain.schedule import SHANGHAI, Rules, greeting_time

# Published dates (the State Council's holiday notices and almanacs), one row per year.
FESTIVALS = [
    # year, Spring Festival, Mid-Autumn, Double Ninth
    (2024, date(2024, 2, 10), date(2024, 9, 17), date(2024, 10, 11)),
    (2025, date(2025, 1, 29), date(2025, 10, 6), date(2025, 10, 29)),
    (2026, date(2026, 2, 17), date(2026, 9, 25), date(2026, 10, 18)),
    (2027, date(2027, 2, 6), date(2027, 9, 15), date(2027, 10, 8)),
    (2028, date(2028, 1, 26), date(2028, 10, 3), date(2028, 10, 26)),
    (2030, date(2030, 2, 3), date(2030, 9, 12), date(2030, 10, 5)),
]


@pytest.mark.parametrize(("year", "spring", "mid_autumn", "double_ninth"), FESTIVALS)
def test_festival_dates_come_from_the_lunar_calendar(year, spring, mid_autumn,
                                                     double_ninth) -> None:
    assert festival_date("spring_festival", year) == spring
    assert festival_date("mid_autumn", year) == mid_autumn
    assert festival_date("double_ninth", year) == double_ninth


@pytest.mark.parametrize(("day", "festivals"), [
    (date(2027, 2, 6), ["spring_festival"]),
    (date(2027, 2, 5), []),  # New Year's Eve is not greeted
    (date(2027, 9, 15), ["mid_autumn"]),
    (date(2027, 10, 8), ["double_ninth"]),
    (date(2027, 10, 1), []),  # National Day: not a care day
    (date(2025, 10, 6), ["mid_autumn"]),
])
def test_festivals_on_a_day(day, festivals) -> None:
    assert festivals_on(day) == festivals


@pytest.mark.parametrize(("born", "day", "senior"), [
    (date(1967, 10, 8), date(2027, 10, 8), True),    # 60 that very day
    (date(1967, 10, 9), date(2027, 10, 8), False),   # 60 tomorrow
    (date(1967, 1, 1), date(2027, 10, 8), True),
    (date(1967, 12, 31), date(2027, 10, 8), False),
    (date(1940, 5, 5), date(2027, 10, 8), True),
    (date(1985, 6, 1), date(2027, 10, 8), False),
    (date(1968, 2, 29), date(2028, 2, 29), True),    # leap-day birth, leap year
    (date(1967, 2, 28), date(2027, 2, 28), True),
])
def test_the_double_ninth_greets_members_aged_60_and_over(born, day, senior) -> None:
    assert is_senior(born, day) is senior


@pytest.mark.parametrize(("today", "keys"), [
    (date(2027, 6, 1), [601]),
    (date(2027, 2, 28), [228, 229]),  # no 29 February in 2027: its members greeted today
    (date(2028, 2, 28), [228]),       # a leap year: they wait for the 29th
    (date(2028, 2, 29), [229]),
    (date(2027, 3, 1), [301]),
])
def test_anniversaries_of_29_february_fall_on_28_february_in_other_years(today, keys) -> None:
    assert anniversary_keys(today) == keys


@pytest.mark.parametrize(("enrolled", "today", "years", "en"), [
    (date(2026, 6, 1), date(2027, 6, 1), 1, "1 year"),
    (date(2024, 2, 29), date(2027, 2, 28), 3, "3 years"),
    (date(2017, 12, 31), date(2027, 12, 31), 10, "10 years"),
])
def test_anniversary_greeting_counts_the_years(enrolled, today, years, en) -> None:
    assert membership_years(enrolled, today) == years
    intent = anniversary_intent("C1", enrolled, today)
    assert intent.facts == {"years": years}
    assert values_for(intent.facts, "en-US")["years"] == en
    assert values_for(intent.facts, "zh-CN")["years"] == str(years)


def test_one_greeting_per_member_occasion_and_year() -> None:
    day = date(2027, 9, 15)
    assert festival_intent("mid_autumn", "C1", day).cause_id == "mid_autumn:C1:2027"
    assert festival_intent("mid_autumn", "C1", day) == festival_intent("mid_autumn", "C1", day)
    assert festival_intent("mid_autumn", "C1", date(2028, 10, 3)).cause_id != (
        festival_intent("mid_autumn", "C1", day).cause_id)
    assert festival_intent("double_ninth", "C1", date(2027, 10, 8)).cause_id != (
        festival_intent("mid_autumn", "C1", day).cause_id)
    assert anniversary_intent("C1", date(2020, 9, 15), day).cause_id == (
        "membership_anniversary:C1:2027")


@pytest.mark.parametrize(("local", "allowed"), [
    (time(7, 59), False),   # quiet hours
    (time(8, 30), False),   # before the greetings' hour
    (time(10, 0), True),
    (time(20, 59), True),
    (time(21, 0), False),   # quiet hours again: not held over to tomorrow either
    (time(23, 30), False),
])
def test_greetings_only_from_their_hour_until_quiet_hours(local, allowed) -> None:
    moment = datetime.combine(date(2027, 9, 15), local, tzinfo=SHANGHAI)
    assert greeting_time(moment, time(10, 0), Rules()) is allowed
