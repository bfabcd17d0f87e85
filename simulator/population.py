"""Realistic bank customers and their monthly assets. Pure: every draw comes from `rng`.

Assets follow one lognormal fitted to the programme's tier thresholds so that about 70% of
customers sit below 50k CNY (Standard), 20% below 500k (Gold), 8% below 6M (OTO Fortune)
and 2% above (Private Banking): ln 50k = mu + 0.524 sigma, ln 500k = mu + 1.2816 sigma.
"""

from __future__ import annotations

import math
import random
import string
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from contracts.corebanking.v1 import (
    AssetSnapshotTaken,
    Consents,
    CustomerClosed,
    CustomerOnboarded,
    CustomerUpdated,
)

ASSETS_MU = 9.228
ASSETS_SIGMA = 3.039
# Month-to-month wobble around a customer's wealth: enough to cross tier thresholds now
# and then, which is what exercises upgrades and the 3-month downgrade rule.
MONTHLY_WOBBLE_SIGMA = 0.12
MAX_ASSETS = 5_000_000_000.0

# Common surnames, roughly by frequency (the first five cover about 30% of China).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
)
SURNAME_WEIGHTS = tuple(1.0 / (rank + 8) for rank in range(len(SURNAMES)))
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容")
MALE_CHARS = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳建国志文博轩子豪晨昊"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲婷雪慧莹倩颖琳晶欣怡佳悦琪梦璐丹萍红燕洁英兰梅雅涵诗思璇晓"
NEUTRAL_CHARS = "文明华晨宁安欣阳一子雨新嘉乐清远"
# Real mainland prefixes: 13x and 15x/18x/19x of China Mobile, Unicom and Telecom.
MOBILE_PREFIXES = (
    *(f"13{d}" for d in range(10)),
    *("150", "151", "152", "153", "155", "156", "157", "158", "159"),
    *(f"18{d}" for d in range(10)),
    *("191", "193", "195", "196", "197", "198", "199"),
)
OPENID_ALPHABET = string.ascii_letters + string.digits + "-_"
HOME_CITIES = ("上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "西安", "重庆")
HOME_CITY_WEIGHTS = (16, 15, 11, 12, 8, 9, 7, 7, 6, 9)


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    family_name: str
    given_name: str
    gender: str
    birth_date: date
    mobile: str
    wechat_openid: str | None
    preferred_language: str
    service_consent: bool
    marketing_consent: bool
    onboarded_at: datetime
    home_city: str
    card_tokens: tuple[str, ...]
    wealth_cny: float  # typical average daily assets; each month wobbles around it
    activity: float  # relative share of card spend
    spend_scale: float  # multiplies ticket sizes: the wealthy buy dearer


def make_customers(rng: random.Random, n: int, at: datetime) -> list[Customer]:
    """`n` customers with distinct ids and mobiles, onboarded during the 8 years before `at`."""
    ids: set[str] = set()
    mobiles: set[str] = set()
    customers = []
    while len(customers) < n:
        customer = _customer(rng, at)
        if customer.customer_id in ids or customer.mobile in mobiles:
            continue
        ids.add(customer.customer_id)
        mobiles.add(customer.mobile)
        customers.append(customer)
    return customers


def _customer(rng: random.Random, at: datetime) -> Customer:
    gender = rng.choices(("male", "female", "unknown"), (48, 48, 4))[0]
    chars = {"male": MALE_CHARS, "female": FEMALE_CHARS}.get(gender, NEUTRAL_CHARS)
    given = "".join(rng.choice(chars) for _ in range(1 if rng.random() < 0.3 else 2))
    family = (
        rng.choice(COMPOUND_SURNAMES)
        if rng.random() < 0.005
        else rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
    )
    birth_year = round(rng.triangular(1950, 2005, 1985))
    wealth = min(math.exp(rng.gauss(ASSETS_MU, ASSETS_SIGMA)), MAX_ASSETS)
    return Customer(
        customer_id=f"C{rng.randrange(10**10):010d}",
        family_name=family,
        given_name=given,
        gender=gender,
        birth_date=date(birth_year, 1, 1) + timedelta(days=rng.randrange(365)),
        mobile=f"+86{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}",
        wechat_openid=new_openid(rng) if rng.random() < 0.6 else None,
        preferred_language="zh-CN" if rng.random() < 0.85 else "en-US",
        service_consent=rng.random() < 0.95,
        marketing_consent=rng.random() < 0.4,
        onboarded_at=at - timedelta(seconds=rng.randrange(8 * 365 * 86400)),
        home_city=rng.choices(HOME_CITIES, HOME_CITY_WEIGHTS)[0],
        card_tokens=tuple(_card_token(rng) for _ in range(rng.choice((1, 1, 1, 2)))),
        wealth_cny=wealth,
        # Wealthier customers spend a little more often; most of the spread is personal.
        activity=rng.lognormvariate(0, 0.8) * (1 + math.log10(1 + wealth / 50_000)),
        spend_scale=min(max((wealth / 50_000) ** 0.12, 0.6), 2.5),
    )


def new_openid(rng: random.Random) -> str:
    return "o" + "".join(rng.choices(OPENID_ALPHABET, k=27))


def _card_token(rng: random.Random) -> str:
    return "ctk_" + "".join(rng.choices(string.ascii_letters + string.digits, k=24))


def monthly_assets(rng: random.Random, customer: Customer) -> Decimal:
    value = customer.wealth_cny * rng.lognormvariate(0, MONTHLY_WOBBLE_SIGMA)
    return Decimal(f"{min(value, MAX_ASSETS):.2f}")


def changed_profile(rng: random.Random, customer: Customer) -> Customer:
    """One realistic profile change: new phone, WeChat (un)bound, consent or language."""
    change = rng.choices(("mobile", "wechat", "marketing", "language"), (3, 4, 3, 1))[0]
    if change == "mobile":
        return replace(
            customer, mobile=f"+86{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"
        )
    if change == "wechat":
        return replace(customer, wechat_openid=None if customer.wechat_openid else new_openid(rng))
    if change == "marketing":
        return replace(customer, marketing_consent=not customer.marketing_consent)
    other = "en-US" if customer.preferred_language == "zh-CN" else "zh-CN"
    return replace(customer, preferred_language=other)


# Events. model_construct skips validation: the generators above only produce valid values,
# and the unit tests validate samples against the contracts.


def _profile(customer: Customer) -> dict:
    return {
        "customer_id": customer.customer_id,
        "family_name": customer.family_name,
        "given_name": customer.given_name,
        "gender": customer.gender,
        "birth_date": customer.birth_date,
        "mobile": customer.mobile,
        "wechat_openid": customer.wechat_openid,
        "preferred_language": customer.preferred_language,
        "consents": Consents.model_construct(
            service_messages=customer.service_consent, marketing=customer.marketing_consent
        ),
    }


def onboarded(customer: Customer) -> CustomerOnboarded:
    return CustomerOnboarded.model_construct(
        **_profile(customer), onboarded_at=customer.onboarded_at
    )


def updated(customer: Customer, at: datetime) -> CustomerUpdated:
    return CustomerUpdated.model_construct(**_profile(customer), updated_at=at)


def closed(customer: Customer, at: datetime, reason: str | None) -> CustomerClosed:
    return CustomerClosed.model_construct(
        customer_id=customer.customer_id, closed_at=at, reason=reason
    )


CLOSE_REASONS = ("客户申请销户", "账户长期不动户", "客户移居海外", None)


def asset_snapshot(
    rng: random.Random, customer: Customer, month: str, taken_at: datetime
) -> AssetSnapshotTaken:
    return AssetSnapshotTaken.model_construct(
        customer_id=customer.customer_id,
        month=month,
        average_daily_assets=monthly_assets(rng, customer),
        currency="CNY",
        taken_at=taken_at,
    )
