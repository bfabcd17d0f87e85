"""`python -m tools.bench.analytics [--events 100000] [--members N]`: how fast the analytics
service rebuilds its read models from the topics' history, in events per second.

Needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL (`eval "$(scripts/infra env)"`). It publishes
a year of synthetic events to private topics (not timed): for every member an enrolment and
twelve asset snapshots, the rest card purchases (70 %), points earned (20 %), notifications
sent (7 %) and confirmed redemptions (3 %), dated over 2026. The service consumes them once
(the incremental pass, timed too), is stopped, rebuilt (services/analytics/rebuild.py) and
started again: the rebuild is timed from that start (its six subscriptions joining the
consumer group, some seconds, are included: use a large --events) until every event is
applied again, and the read models are compared with the first pass's; last, December's
figures are worked out (the report's input) and timed. Private schema and topics each run,
removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import asyncpg

from contracts.accounts.v1 import MemberEnrolled
from contracts.corebanking.v1 import AssetSnapshotTaken, CardTransactionPosted, Merchant
from contracts.envelope import EncodedEvent, encode
from contracts.notifications.v1 import NotificationSent
from contracts.points.v1 import Calculation, PointsEarned
from contracts.rewards.v1 import RedemptionConfirmed
from runtime.kafka import delete_topics
from services.analytics.app import build
from services.analytics.domain.months import ZONE
from services.analytics.handlers.figures import load_figures
from services.analytics.rebuild import rebuild
from simulator.publisher import make_producer, publish

SOURCE = "urn:bench:analytics"
YEAR = datetime(2026, 1, 1, tzinfo=ZONE)
MERCHANT = Merchant(merchant_id="M1", name="商户", mcc="5411", city="上海", country="CN")
CALCULATION = Calculation(spend_cny=Decimal(100), base_points=100, bonus_points=0,
                          multiplier=Decimal(1), tier="standard", rule_ids=[], caps_applied=[])


def events(count: int, members: int, seed: int = 7) -> Iterator[EncodedEvent]:
    """`count` events, made as they are published (a million do not fit in memory)."""
    rng = random.Random(seed)
    ids = [f"C{9_000_000_000 + n:010d}" for n in range(members)]
    made = 0
    for m in ids:
        for event in [MemberEnrolled(member_id=m, tier="standard", preferred_language="zh-CN",
                                     enrolled_at=YEAR)] + [
                AssetSnapshotTaken(customer_id=m, month=f"2026-{n:02d}",
                                   average_daily_assets=Decimal(rng.randrange(0, 500_000)),
                                   currency="CNY", taken_at=YEAR) for n in range(1, 13)]:
            if made == count:
                return
            made += 1
            yield encode(event, source=SOURCE)
    for _ in range(count - made):
        yield encode(_activity(rng, rng.choice(ids)), source=SOURCE)


def _activity(rng: random.Random, member: str):
    at = YEAR + timedelta(seconds=rng.randrange(365 * 86_400))
    kind, key = rng.random(), uuid.uuid4().hex
    if kind < 0.70:
        return CardTransactionPosted(
            transaction_id=key, customer_id=member, card_token="tok_bench_0001",
            merchant=MERCHANT, transaction_amount=Decimal(rng.randrange(10, 5000)),
            transaction_currency="CNY", settlement_amount=Decimal(rng.randrange(10, 5000)),
            settlement_currency="CNY", posted_at=at)
    if kind < 0.90:
        return PointsEarned(member_id=member, transaction_id=key, points=100,
                            calculation=CALCULATION, expires_on=date(2028, 12, 31),
                            earned_at=at)
    if kind < 0.97:
        return NotificationSent(member_id=member, message_id=key, template="points_earned",
                                cause_event_id=key, channel="sms", provider="aliyun",
                                attempts=1, sent_at=at)
    return RedemptionConfirmed(member_id=member, redemption_id=f"rdm_{key[:20]}",
                               partner_id="ptn_bench", kind="lounge", item_id="PEK-T3-C01",
                               title="贵宾室", persons=1, points=1000, confirmed_at=at)


async def _applied(service, count: int, timeout: float) -> float:
    """Seconds from the service's start until its inbox holds `count` ids (every event
    applied)."""
    began = time.perf_counter()
    await service.start()
    while await service.pool.fetchval("SELECT count(*) FROM inbox") < count:
        if time.perf_counter() - began > timeout:
            raise TimeoutError(f"not every event applied in {timeout:.0f} s")
        await asyncio.sleep(0.2)
    return time.perf_counter() - began


async def _publish(service, batch: Iterable[EncodedEvent]) -> None:
    """To the service's private topics, in the producers' order."""
    producer = make_producer(service.settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await publish(producer, (replace(e, topic=service.topic(e.topic)) for e in batch))
    finally:
        await producer.stop()


async def _tables(pool) -> list:
    return [await pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")
            for t in ("members", "member_months", "redemptions")]


async def run(count: int, members: int) -> float:
    run_id = uuid.uuid4().hex[:8]
    name, prefix = f"analytics_bench_{run_id}", f"bench.{run_id}."
    service = build(name, prefix)
    await service.start()  # creates the topics
    try:
        await service.stop()
        await _publish(service, events(count, members))
        await rebuild(service.settings, name, prefix)  # nothing applied yet: a no-op
        first = build(name, prefix)
        incremental = await _applied(first, count, 3600)
        before = await _tables(first.pool)
        await first.stop()
        await rebuild(first.settings, name, prefix)
        again = build(name, prefix)
        try:
            replay = await _applied(again, count, 3600)
            same = await _tables(again.pool) == before
            began = time.perf_counter()
            async with again.pool.acquire() as conn:
                await load_figures(conn, "2026-12", 12)
            figures = time.perf_counter() - began
        finally:
            await again.stop()
    finally:
        await delete_topics(service.settings.kafka_bootstrap_servers, prefix)
        conn = await asyncpg.connect(os.environ["DATABASE_URL"])
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        finally:
            await conn.close()
    print(f"{count:,} events of {members:,} members: first pass {incremental:.1f} s "
          f"({count / incremental:,.0f} events/s); rebuild {replay:.1f} s "
          f"({count / replay:,.0f} events/s); read models equal: {same}; December's"
          f" figures (12 months) in {figures:.1f} s")
    return count / replay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=None,
                        help="default: events / 100")
    args = parser.parse_args()
    if not (os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("DATABASE_URL")):
        parser.error('KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL must be set '
                     '(eval "$(scripts/infra env)")')
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    asyncio.run(run(args.events, args.members or max(args.events // 100, 1)))


if __name__ == "__main__":
    main()
