"""The sample members and what happens to them in the year: each is a customer of the
simulator's population model (simulator/population.py) with the traits that show the
variety of messages set on purpose; their monthly assets follow a path of their own around
their wealth (the model's wobble on top), their card spend is the spending model's
(simulator/spending.py) on days drawn from the seed.

Pure: the same seed and dates give the same year.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts.base import Event
from contracts.corebanking.v1 import AssetSnapshotTaken
from simulator.population import Customer, make_customers, new_openid, onboarded
from simulator.spending import CardSpending

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: When core banking's month-end batch measures the previous month (simulator/batch.py).
SNAPSHOT_AT = time(2, 0)
#: The month-end batch's day: the spending profiles run after it (points, then rewards).
PROFILE_AT = time(3, 0)


@dataclass(frozen=True)
class Act:
    """Something a member does through the rewards API, at a local time."""

    at: datetime
    #: "lounge" (a lounge visit), "offer" (a points-paid offer), "donation", "rsvp" (accepts
    #: a salon's invitation), "stop" (replies to an SMS)
    kind: str
    item: str = ""  # the lounge, offer, charity, salon or reply
    points: int = 0  # a donation's points
    allow_points: bool = False


@dataclass(frozen=True)
class Sample:
    """A member of the cast: the customer, why they are in it, and their year."""

    customer: Customer
    why: str
    #: Monthly assets as a multiple of their wealth, from the first month measured on
    #: (before wobble); the last factor holds for later months.
    path: tuple[float, ...]
    purchases_per_month: float
    acts: tuple[Act, ...] = field(default=())

    @property
    def id(self) -> str:
        return self.customer.customer_id


#: The members' salon of the year (rewards' salons): a health talk for the top two tiers.
SALON = "sal_year_health_talk"


def salon(start: date, end: date) -> dict[str, object]:
    """The salon staff schedule two thirds into the year (`scheduled_at`), its invitations
    opening the next morning, held nineteen days later."""
    day = start + (end - start) * 2 / 3
    return {"scheduled_at": at(day, 10, 30), "body": {
        "id": SALON, "title": "健康养生讲座", "title_en": "Health talk", "category": "health",
        "city": "上海", "venue": "外滩金融中心", "starts_at": at(day + timedelta(days=19), 14),
        "capacity": 30, "eligible_tiers": ["oto_fortune", "private_banking"],
        "invite_from": at(day + timedelta(days=1), 9), "invite_until": at(
            day + timedelta(days=14), 21), "rsvp_from": at(day + timedelta(days=1), 9),
        "rsvp_until": at(day + timedelta(days=17), 21)}}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


#: Who the cast are: family name, gender, birth date, language, WeChat, marketing consent,
#: city, member since, wealth (CNY of monthly average daily assets), spend scale.
TRAITS = (
    ("王", "female", date(1951, 3, 14), "zh-CN", True, True, "上海",
     datetime(2012, 6, 18, 10, 30, tzinfo=SHANGHAI), 9_000_000.0, 2.0),
    ("张", "male", date(1984, 8, 9), "en-US", False, True, "上海",
     datetime(2021, 3, 2, 14, 0, tzinfo=SHANGHAI), 150_000.0, 1.3),
    ("陈", "unknown", date(1990, 5, 2), "en-US", False, True, "北京",
     datetime(2019, 11, 20, 11, 0, tzinfo=SHANGHAI), 90_000.0, 1.0),
    ("刘", "male", date(1978, 4, 21), "zh-CN", False, False, "广州",
     datetime(2016, 2, 8, 9, 0, tzinfo=SHANGHAI), 200_000.0, 1.2),
    ("李", "female", date(1987, 10, 3), "zh-CN", False, True, "杭州",
     datetime(2018, 7, 12, 15, 0, tzinfo=SHANGHAI), 1_200_000.0, 1.5),
)


def _traits(rng: random.Random, customer: Customer, traits: tuple) -> Customer:
    family, gender, born, language, wechat, marketing, city, since, wealth, scale = traits
    return replace(customer, family_name=family, gender=gender, birth_date=born,
                   preferred_language=language, home_city=city, onboarded_at=since,
                   wechat_openid=(customer.wechat_openid or new_openid(rng)) if wechat else None,
                   marketing_consent=marketing, service_consent=True, wealth_cny=wealth,
                   spend_scale=scale)


def cast(seed: int, start: date, end: date, pick: Sequence[int] = range(5)) -> list[Sample]:
    """The cast's members at the indices `pick` (0-4: Private Banking elder, Gold in
    English, gender unknown, no marketing consent, stop reply), acts within [start, end]."""
    rng = random.Random(seed)
    base = make_customers(rng, 5, at(start, 0))
    mid = start + (end - start) / 2
    late = start + (end - start) * 3 / 4
    invited = salon(start, end)["scheduled_at"].date() + timedelta(days=2)
    c = [_traits(rng, *traits) for traits in zip(base, TRAITS, strict=True)]
    samples = [
        Sample(c[0], "Private Banking, 75, Chinese, WeChat, marketing consent", (1.0,), 4.0,
               (Act(at(start + timedelta(days=40), 9, 40), "lounge", "PVG-T2-01"),
                Act(at(late, 16, 5), "donation", "chr_elderly_care", points=2000),
                Act(at(invited, 10, 20), "rsvp", SALON))),
        Sample(c[1], "Gold, English, male (Dear Mr ...), SMS, marketing consent; assets rise",
               (1.0,) * 8 + (4.5,), 4.0,
               (Act(at(mid - timedelta(days=30), 12, 15), "offer", "points"),
                Act(at(mid + timedelta(days=20), 7, 50), "lounge", "PEK-T3-01",
                    allow_points=True))),
        Sample(c[2], "Gold, English, gender unknown (neutral form), SMS; assets fall",
               (1.0,) * 5 + (0.3,), 3.0),
        Sample(c[3], "Gold, Chinese, no marketing consent, SMS", (1.0,), 3.0),
        Sample(c[4], "OTO Fortune, Chinese, SMS, replies TD (stop) mid-year", (1.0,), 3.0,
               (Act(at(mid, 15, 12), "stop", "TD"),)),
    ]
    return [replace(s, acts=tuple(a for a in s.acts if start <= a.at.date() <= end))
            for s in (samples[i] for i in pick)]


def months(first: date, last: date) -> list[date]:
    """First days of the months from `first`'s to `last`'s."""
    out, day = [], first.replace(day=1)
    while day <= last:
        out.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return out


def onboarding(samples: list[Sample]) -> list[Event]:
    return [onboarded(s.customer) for s in samples]


def snapshot(rng: random.Random, sample: Sample, month: date, index: int,
             taken_at: datetime) -> AssetSnapshotTaken:
    """The month's average daily assets: the path's factor, the model's wobble."""
    factor = sample.path[min(index, len(sample.path) - 1)]
    assets = sample.customer.wealth_cny * factor * rng.lognormvariate(0, 0.05)
    return AssetSnapshotTaken(customer_id=sample.id, month=f"{month:%Y-%m}",
                              average_daily_assets=Decimal(f"{assets:.2f}"), currency="CNY",
                              taken_at=taken_at)


def purchases(rng: random.Random, spending: CardSpending, sample: Sample, first: date,
              last: date) -> list[Event]:
    """The member's card purchases between the days, at daytime and evening hours."""
    out: list[Event] = []
    day = first
    while day <= last:
        for _ in range(_poisson(rng, sample.purchases_per_month / 30)):
            moment = at(day, rng.choice((8, 9, 11, 12, 12, 13, 15, 17, 18, 19, 19, 20, 21)),
                        rng.randrange(60))
            event, _ = spending.purchase(sample.customer, moment,
                                         f"T{rng.getrandbits(64):020d}")
            out.append(event)
        day += timedelta(days=1)
    return sorted(out, key=lambda e: e.posted_at)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
