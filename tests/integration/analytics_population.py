"""A seeded population with known behaviour for the analytics tests, as the events its
producers publish (January to June 2026, Asia/Shanghai), and the figures of June worked out
by hand (docs/analytics.md has the same numbers):

    who  enrolled  tier            spend per month (CNY)          else
    G    Jan       standard->gold  1,000 Jan-Mar, 2,000 Apr-Jun   gold from 1 Jun; grows
    S    Jan       gold            1,000 Jan-Jun                  assets 200,000 each month
    D    Jan       standard        1,000 Jan-May, 100 Jun         declines in Jun
    C    Jan       standard        500 Jan-Apr                    closes 10 May
    L    Jan       standard        300 Jan-Feb                    lapses (3 months) in May
    N    May       standard        800 May-Jun                    new: trial; a salon in Jun

Points: G earns 1,000 in Apr and has 100 reversed in Jun; S gets 500 goodwill and redeems
300 in May; C forfeits 50 in May; D's 200 expire in Jun. S visits a Beijing lounge with a
guest in May, G takes an offer in Jun. In Jun G hears twice (one delivered), D once and opts
out.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts.accounts.v1 import MemberClosed, MemberEnrolled, MemberTierChanged
from contracts.corebanking.v1 import AssetSnapshotTaken, CardTransactionPosted, Merchant
from contracts.envelope import EncodedEvent, encode
from contracts.notifications.v1 import (
    NotificationDelivered,
    NotificationOptOutReceived,
    NotificationSent,
)
from contracts.points.v1 import (
    Calculation,
    PointsDebited,
    PointsEarned,
    PointsExpired,
    PointsForfeited,
    PointsGoodwillAwarded,
    PointsReversed,
)
from contracts.rewards.v1 import RedemptionConfirmed, SalonAttended

SHANGHAI = ZoneInfo("Asia/Shanghai")
SOURCE = "urn:test:producer"
MONTHS = [f"2026-{n:02d}" for n in range(1, 7)]
WHO = "GSDCLN"


def at(month: str, day: int = 15) -> datetime:
    year, number = map(int, month.split("-"))
    return datetime(year, number, day, 12, 0, tzinfo=SHANGHAI)


def _encode(event) -> EncodedEvent:
    return encode(event, source=SOURCE)


def purchase(member: str, month: str, amount: int) -> EncodedEvent:
    return _encode(CardTransactionPosted(
        transaction_id=uuid.uuid4().hex, customer_id=member, card_token="tok_test_0001",
        merchant=Merchant(merchant_id="M1", name="商户", mcc="5411", city="上海", country="CN"),
        transaction_amount=Decimal(amount), transaction_currency="CNY",
        settlement_amount=Decimal(amount), settlement_currency="CNY", posted_at=at(month)))


def _calculation(points: int) -> Calculation:
    return Calculation(spend_cny=Decimal(points), base_points=points, bonus_points=0,
                       multiplier=Decimal(1), tier="standard", rule_ids=[], caps_applied=[])


def population(ids: list[str]) -> tuple[dict[str, str], list[EncodedEvent]]:
    """(letter -> member id, the events in a producer's order)."""
    who = dict(zip(WHO, ids, strict=False))
    g, s, d, c, lapser, n = (who[x] for x in WHO)
    spend = {
        g: {m: 1000 if m < "2026-04" else 2000 for m in MONTHS},
        s: dict.fromkeys(MONTHS, 1000),
        d: {m: 1000 if m < "2026-06" else 100 for m in MONTHS},
        c: dict.fromkeys(MONTHS[:4], 500),
        lapser: dict.fromkeys(MONTHS[:2], 300),
        n: dict.fromkeys(MONTHS[4:], 800),
    }
    events = [_encode(MemberEnrolled(member_id=x, tier="gold" if x == s else "standard",
                                     preferred_language="zh-CN",
                                     enrolled_at=at("2026-05" if x == n else "2026-01", 2)))
              for x in who.values()]
    events += [purchase(x, month, amount) for x, months in spend.items()
               for month, amount in months.items()]
    events += [_encode(AssetSnapshotTaken(customer_id=s, month=m, average_daily_assets=200_000,
                                          currency="CNY", taken_at=at(m, 28)))
               for m in MONTHS]
    events += [
        _encode(MemberTierChanged(member_id=g, old_tier="standard", new_tier="gold",
                                  reason="assets_qualified", effective_date=date(2026, 6, 1),
                                  assets_month="2026-05", changed_at=at("2026-06", 1))),
        _encode(MemberClosed(member_id=c, closed_at=at("2026-05", 10))),
        _encode(PointsEarned(member_id=g, transaction_id="t-g-apr", points=1000,
                             calculation=_calculation(1000), expires_on=date(2028, 4, 30),
                             earned_at=at("2026-04"))),
        _encode(PointsReversed(member_id=g, refund_id="r-g", transaction_id="t-g-apr",
                               points=100, reversed_at=at("2026-06"))),
        _encode(PointsGoodwillAwarded(member_id=s, award_id="gw-1", complaint_reference="c-1",
                                      reason="service_failure", points=500, balance_after=500,
                                      expires_on=date(2028, 5, 31), awarded_at=at("2026-05"))),
        _encode(PointsDebited(member_id=s, debit_id="rdm_s_lounge", points=300,
                              balance_after=200, debited_at=at("2026-05"))),
        _encode(PointsForfeited(member_id=c, points=50, reason="member_closed",
                                forfeited_at=at("2026-05", 10))),
        _encode(PointsExpired(member_id=d, points=200, expired_on=date(2026, 6, 14),
                              expired_at=at("2026-06"))),
        _encode(RedemptionConfirmed(member_id=s, redemption_id="rdm_s_lounge",
                                    partner_id="ptn_dragonpass", kind="lounge",
                                    item_id="PEK-T3-C01", title="北京首都机场T3 国内贵宾室",
                                    persons=2, points=300, confirmed_at=at("2026-05"))),
        _encode(RedemptionConfirmed(member_id=g, redemption_id="rdm_g_offer",
                                    partner_id="ptn_coffee", kind="offer", item_id="off_1",
                                    title="咖啡券", persons=1, points=0,
                                    confirmed_at=at("2026-06"))),
        _encode(SalonAttended(member_id=n, salon_id="sal_1", category="wealth", city="上海",
                              checked_in_at=at("2026-06"))),
    ]
    for member, message in ((g, "m-g-1"), (g, "m-g-2"), (d, "m-d-1")):
        events.append(_encode(NotificationSent(
            member_id=member, message_id=message, template="points_earned",
            cause_event_id="e-1", channel="sms", provider="aliyun", attempts=1,
            sent_at=at("2026-06"))))
    events += [
        _encode(NotificationDelivered(member_id=g, message_id="m-g-1", channel="sms",
                                      provider="aliyun", delivered_at=at("2026-06", 16))),
        _encode(NotificationOptOutReceived(member_id=d, channel="sms", provider="aliyun",
                                           via="sms_reply", keyword="TD",
                                           received_at=at("2026-06", 17))),
    ]
    return who, events
