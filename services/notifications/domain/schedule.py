"""When a message may go: transactional ones at once (those that wait for the morning:
after quiet hours); others outside quiet hours
(21:00-08:00 Asia/Shanghai by default) and within a daily cap per member.

Over the cap a service message (points expiring, the daily summary) moves to the next
day's 08:00, where it is counted again; a marketing message is dropped as `capped`: a
birthday greeting a day late is worse than none. For the same reason greetings (birthdays,
festivals, anniversaries) are queued only on their day, from their hour until quiet hours
(`greeting_time`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from .templates import Category

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Rules:
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    #: Non-transactional messages per member and local day.
    daily_cap: int = 3
    zone: ZoneInfo = SHANGHAI
    #: When the day's points summary goes out (local time, outside quiet hours).
    summary_at: time = time(20, 0)
    #: When birthday greetings go out.
    birthday_at: time = time(10, 0)
    #: When festival and membership anniversary greetings go out (domain/care_days.py).
    care_days_at: time = time(10, 0)


@dataclass(frozen=True, slots=True)
class Slot:
    state: Literal["queued", "capped"]
    not_before: datetime
    #: The member's local day the message counts against (None: transactional, uncounted).
    day: date | None


def in_quiet_hours(moment: datetime, rules: Rules) -> bool:
    local = moment.astimezone(rules.zone).time()
    if rules.quiet_start > rules.quiet_end:  # spans midnight
        return local >= rules.quiet_start or local < rules.quiet_end
    return rules.quiet_start <= local < rules.quiet_end


def next_allowed(moment: datetime, rules: Rules) -> datetime:
    """`moment` itself outside quiet hours, else the end of the quiet period."""
    if not in_quiet_hours(moment, rules):
        return moment
    local = moment.astimezone(rules.zone)
    end = datetime.combine(local.date(), rules.quiet_end, tzinfo=rules.zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), rules.quiet_end,
                               tzinfo=rules.zone)
    return end


def greeting_time(moment: datetime, at: time, rules: Rules) -> bool:
    """Whether the day's greetings (going from `at`) may be queued at `moment`: from `at`
    until quiet hours begin. Never later: a greeting is not held overnight into the next
    day, where it would be a day late."""
    return moment.astimezone(rules.zone).time() >= at and not in_quiet_hours(moment, rules)


def local_day(moment: datetime, rules: Rules) -> date:
    return moment.astimezone(rules.zone).date()


def day_opening(day: date, rules: Rules) -> datetime:
    return datetime.combine(day, rules.quiet_end, tzinfo=rules.zone)


def plan(category: Category, now: datetime, counted: dict[date, int], rules: Rules,
         waits_for_morning: bool = False) -> Slot:
    """Where one message goes, given how many counted messages the member already has per
    local day (`counted` is updated: messages of one batch see each other)."""
    if category == "transactional":
        return Slot("queued", next_allowed(now, rules) if waits_for_morning else now, None)
    at = next_allowed(now, rules)
    day = local_day(at, rules)
    while counted.get(day, 0) >= rules.daily_cap:
        if category == "marketing":
            return Slot("capped", at, day)
        day += timedelta(days=1)
        at = day_opening(day, rules)
    counted[day] = counted.get(day, 0) + 1
    return Slot("queued", at, day)


def summary_day(earned_at: datetime, rules: Rules) -> date:
    """The summary a purchase belongs to: the one sent at `summary_at` on the same local day
    if earned before it, else the next day's."""
    local = earned_at.astimezone(rules.zone)
    return local.date() + timedelta(days=1) if local.time() >= rules.summary_at else local.date()


def last_summary_day(now: datetime, rules: Rules) -> date:
    """The latest day whose summary is due at `now`: today's from `summary_at` on."""
    local = now.astimezone(rules.zone)
    return local.date() if local.time() >= rules.summary_at else local.date() - timedelta(days=1)


def summary_time(day: date, rules: Rules) -> datetime:
    return datetime.combine(day, rules.summary_at, tzinfo=rules.zone)


def is_birthday(birth_date: date, today: date) -> bool:
    """29 February birthdays are greeted on 28 February in other years."""
    if (birth_date.month, birth_date.day) == (2, 29):
        try:
            date(today.year, 2, 29)
        except ValueError:
            return (today.month, today.day) == (2, 28)
    return (birth_date.month, birth_date.day) == (today.month, today.day)


def greets_feb_29(today: date) -> bool:
    """On 28 February of a year without 29 February, those born on it are greeted too."""
    if (today.month, today.day) != (2, 28):
        return False
    try:
        date(today.year, 2, 29)
    except ValueError:
        return True
    return False
