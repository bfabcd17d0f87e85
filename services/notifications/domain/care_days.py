"""Care on the days that matter: the Spring Festival, Mid-Autumn and Double Ninth (for
members aged 60 and over) and the membership anniversary, each greeted once a year, as
the birthday is (handlers/scheduled.py).

Lunar festivals come from lunar-python's calendar (a lunar month and day to its Gregorian
date), not from a table of our own. Each greeting's cause is `<template>:<member>:<year>`:
the message log keeps one message per cause and template, so a greeting never goes twice
in a year, however often the job runs.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Literal

from lunar_python import Lunar

from .messages import Intent
from .schedule import greets_feb_29

Festival = Literal["spring_festival", "mid_autumn", "double_ninth"]
#: Each festival's lunar month and day (a month of its own, never the leap month).
LUNAR_DAYS: dict[Festival, tuple[int, int]] = {
    "spring_festival": (1, 1),
    "mid_autumn": (8, 15),
    "double_ninth": (9, 9),
}
ANNIVERSARY = "membership_anniversary"
#: The Double Ninth is also the seniors' day (老人节): greeted from this age on.
SENIOR_AGE = 60
SENIORS_ONLY: frozenset[Festival] = frozenset({"double_ninth"})


@cache  # a few milliseconds each, asked at every run of the job
def festival_date(festival: Festival, year: int) -> date:
    """The Gregorian date of the festival in lunar year `year` (which falls in that
    Gregorian year: each of these festivals comes once a Gregorian year)."""
    month, day = LUNAR_DAYS[festival]
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def festivals_on(day: date) -> list[Festival]:
    return [f for f in LUNAR_DAYS if festival_date(f, day.year) == day]


def age_on(birth_date: date, day: date) -> int:
    """Whole years; born on 29 February, one is a year older from 1 March in other years."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def is_senior(birth_date: date, day: date) -> bool:
    """Aged SENIOR_AGE or over on `day` (a SENIORS_ONLY festival greets them only)."""
    return age_on(birth_date, day) >= SENIOR_AGE


def anniversary_keys(today: date) -> list[int]:
    """The enrolment days (month * 100 + day) whose anniversary is `today`: those enrolled on
    29 February are greeted on 28 February in other years, as birthdays are."""
    return [today.month * 100 + today.day, *([229] if greets_feb_29(today) else [])]


def membership_years(enrolled_on: date, day: date) -> int:
    """Years of membership completed by the anniversary on `day` (same year: none yet)."""
    return day.year - enrolled_on.year


def greeting_cause(template: str, member_id: str, year: int) -> str:
    """The dedup key: one greeting per member, occasion and year."""
    return f"{template}:{member_id}:{year}"


def festival_intent(festival: Festival, member_id: str, day: date) -> Intent:
    return Intent(member_id, festival, greeting_cause(festival, member_id, day.year), {})


def anniversary_intent(member_id: str, enrolled_on: date, day: date) -> Intent:
    return Intent(member_id, ANNIVERSARY, greeting_cause(ANNIVERSARY, member_id, day.year),
                  {"years": membership_years(enrolled_on, day)})
