"""The points ledger on the real broker and database: refunds, redemption debits and their
cancellation, expiry, closed members and the app's reads. After every test the ledger
invariants must hold (the `points` fixture checks them)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime

import httpx
import pytest

from contracts.envelope import Envelope
from contracts.rewards.v1 import RedemptionRequested
from contracts.topics import CARD_TRANSACTIONS_V1, POINTS_V1, dead_letter_topic
from runtime.consumer import Inbound
from runtime.relay import wait_until_drained
from runtime.unit_of_work import event_id
from services.points.handlers.expiry import ExpiryJob
from services.points.handlers.redemptions import OnRedemptions
from services.points.settings import PointsSettings, load_rules
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, produce_to, read_topic
from tests.integration.points_events import (
    SHANGHAI,
    balances_and_lots,
    cancellation,
    ce_type,
    closed,
    consumed,
    data,
    points_service,
    purchase,
    redemption,
    refund,
)
from tests.tokens import AsPathMember, member_headers

pytestmark = pytest.mark.integration


@pytest.fixture
async def points(infra):
    async for service in points_service():
        yield service


@pytest.fixture
async def points_b(infra):
    async for service in points_service():
        yield service


async def _published(service, members, n, types=None, settle=1.0):
    await wait_until_drained(service.pool)
    return await read_topic(
        service.settings.kafka_bootstrap_servers, service.topic(POINTS_V1),
        keep=lambda r: r.key.decode() in members and (types is None or ce_type(r) in types),
        until=lambda kept: len(kept) >= n, settle=settle)


async def _run(service, job: ExpiryJob, today: date):
    """One run of the expiry job as the service runs it: a unit of work per chunk."""
    return await job.run(service.unit_of_work, today)


async def _ledger(service) -> dict:
    """Everything that states a member's points, comparable across two services."""
    pool = service.pool
    return {
        **await balances_and_lots(service),
        "reversed": {r[0]: r[1] for r in await pool.fetch(
            "SELECT transaction_id, sum(points_reversed) FROM refunds GROUP BY 1")},
        "postings": sorted(tuple(r) for r in await pool.fetch(
            "SELECT kind, reference, debit_account, credit_account, points FROM transfers")),
    }


# ---------------------------------------------------------------------- refunds

async def test_partial_refunds_reverse_proportionally_and_never_more_than_earned(points):
    member = customers(1)[0]
    bought = purchase(member, "1000.00", "5812", transaction_id="T-dinner")  # x2: 2000 points
    refunds = [refund(member, "T-dinner", "300.00"), refund(member, "T-dinner", "300.00"),
               refund(member, "T-dinner", "300.00"), refund(member, "T-dinner", "300.00")]
    await produce_to(points, [bought, *refunds])
    await eventually(consumed(points, 5), what="purchase and refunds applied")

    reversed_ = await _published(points, {member}, 4, {"points.reversed"})
    assert [data(r)["points"] for r in reversed_] == [600, 600, 600, 200]  # capped at earned
    assert await points.pool.fetchval(
        "SELECT points FROM balances WHERE member_id = $1", member) == 0


async def test_a_refund_before_its_purchase_waits_then_applies(points):
    member = customers(1)[0]
    await produce_to(points, [refund(member, "T-late", "50.00")])
    await eventually(consumed(points, 1), what="early refund parked")
    assert await points.pool.fetchval("SELECT count(*) FROM pending_refunds") == 1

    await produce_to(points, [purchase(member, "100.00", transaction_id="T-late")])
    await eventually(consumed(points, 2), what="purchase applied")
    assert await points.pool.fetchval("SELECT count(*) FROM pending_refunds") == 0
    assert await points.pool.fetchval(
        "SELECT points FROM balances WHERE member_id = $1", member) == 50
    [reversal] = await _published(points, {member}, 1, {"points.reversed"})
    assert data(reversal)["points"] == 50


async def test_a_refund_whose_purchase_never_comes_goes_to_operations(points):
    member = customers(1)[0]
    early = refund(member, "T-never", "80.00", refund_id="R-orphan")
    await produce_to(points, [early])
    await eventually(consumed(points, 1), what="early refund parked")

    patient = ExpiryJob(refund_wait_seconds=3600)
    assert (await _run(points, patient, date(2026, 3, 11))).overdue_refunds == 0
    impatient = ExpiryJob(refund_wait_seconds=0)
    assert (await _run(points, impatient, date(2026, 3, 11))).overdue_refunds == 1
    assert (await _run(points, impatient, date(2026, 3, 11))).overdue_refunds == 0

    await wait_until_drained(points.pool)
    dlq = points.topic(dead_letter_topic(CARD_TRANSACTIONS_V1, points.name))
    [letter] = await read_topic(points.settings.kafka_bootstrap_servers, dlq,
                                until=lambda kept: len(kept) >= 1, settle=1.0)
    headers = dict(letter.headers)
    assert b"did not arrive" in headers["dlq_reason"] and b"R-orphan" in headers["dlq_reason"]
    assert headers["ce_id"] == dict(early.headers)["ce_id"]  # operations can replay it
    assert data(letter)["refund_id"] == "R-orphan"
    # The same dead-letter headers as any consumed record's: where it was consumed from.
    assert headers["dlq_error"] == b"purchase_not_found"
    assert headers["dlq_original_topic"] == points.topic(CARD_TRANSACTIONS_V1).encode()
    assert headers["dlq_original_partition"].isdigit()
    assert headers["dlq_original_offset"].isdigit()
    assert headers["dlq_consumer_group"] == headers["dlq_service"] == points.name.encode()
    assert letter.key == member.encode()


async def test_a_refund_parked_before_its_origin_was_kept_is_dead_lettered_too(points):
    member = customers(1)[0]
    await produce_to(points, [refund(member, "T-never", "80.00", refund_id="R-old")])
    await eventually(consumed(points, 1), what="early refund parked")
    await points.pool.execute(  # as parked before migration 0006
        "UPDATE pending_refunds SET original_topic = NULL, original_partition = NULL,"
        " original_offset = NULL")
    assert (await _run(points, ExpiryJob(refund_wait_seconds=0),
                       date(2026, 3, 11))).overdue_refunds == 1

    await wait_until_drained(points.pool)
    dlq = points.topic(dead_letter_topic(CARD_TRANSACTIONS_V1, points.name))
    [letter] = await read_topic(points.settings.kafka_bootstrap_servers, dlq,
                                until=lambda kept: len(kept) >= 1, settle=1.0)
    headers = dict(letter.headers)
    assert headers["dlq_original_topic"] == CARD_TRANSACTIONS_V1.encode()
    assert headers["dlq_original_partition"] == headers["dlq_original_offset"] == b""
    assert data(letter)["refund_id"] == "R-old"


async def test_duplicates_and_reordering_give_the_same_ledger_as_a_clean_delivery(
        points, points_b):
    rng = random.Random(7)
    members = customers(6)
    clean = []
    for n in range(60):
        member = members[n % 6]
        amount = f"{rng.randint(5, 3000)}.{rng.randint(0, 99):02d}"
        mcc = rng.choice(["5411", "5812", "7011", "6011", "4511"])
        clean.append(purchase(member, amount, mcc, transaction_id=f"T{n}"))
        if n % 3 == 0:  # a partial refund, sometimes two
            clean.append(refund(member, f"T{n}", "4.00", refund_id=f"R{n}a"))
            if n % 6 == 0:
                clean.append(refund(member, f"T{n}", "9999.00", refund_id=f"R{n}b"))
    await produce_to(points, clean)
    await eventually(consumed(points, len(clean)), what="clean delivery applied")

    # The same facts, every event twice, refunds before their purchases, in another order.
    messy = clean + rng.sample(clean, len(clean))
    messy.sort(key=lambda e: 0 if dict(e.headers)["ce_type"].endswith(b"refunded") else 1)
    half = len(messy) // 2
    await produce_to(points_b, messy[:half])
    await eventually(consumed(points_b, half), what="first half applied")
    await produce_to(points_b, messy[half:])
    await eventually(consumed(points_b, len(messy)), what="messy delivery applied")

    assert await points_b.pool.fetchval("SELECT count(*) FROM pending_refunds") == 0
    assert await _ledger(points_b) == await _ledger(points)


# ---------------------------------------------------------------------- debits

async def test_debits_spend_nearest_expiry_first_and_never_overdraw(points):
    member = customers(1)[0]
    await produce_to(points, [
        purchase(member, "3000.00", transaction_id="T-2025", at=datetime(2025, 6, 1, tzinfo=UTC)),
        purchase(member, "7000.00", transaction_id="T-2026")])
    await eventually(consumed(points, 2), what="earned")
    requests = [redemption(member, 1000) for _ in range(50)]  # 10,000 points, 50,000 asked
    await produce_to(points, requests)
    await eventually(consumed(points, 52), what="debit requests decided")

    answers = await _published(points, {member}, 50, {"points.debited", "points.debit-rejected"})
    outcomes = [ce_type(r) for r in answers]
    assert outcomes.count("points.debited") == 10 and len(answers) == 50
    assert {data(r)["reason"] for r in answers if ce_type(r) == "points.debit-rejected"} == {
        "insufficient_points"}
    assert await points.pool.fetchval(
        "SELECT points FROM balances WHERE member_id = $1", member) == 0
    first_debits = await points.pool.fetch(
        "SELECT expires_on, points FROM debit_lots WHERE debit_id = $1",
        data(answers[0])["debit_id"])
    assert [(r[0], r[1]) for r in first_debits] == [(date(2026, 12, 31), 1000)]  # 2025's lot


async def test_concurrent_transactions_on_one_member_never_overdraw(points):
    """Beyond Kafka's per-member order: ten transactions at once (as during a rebalance)."""
    member = customers(1)[0]
    await produce_to(points, [purchase(member, "2500.00")])
    await eventually(consumed(points, 1), what="earned")
    handler = OnRedemptions(load_rules(PointsSettings().programme_file))

    async def one(n: int) -> list:
        encoded = redemption(member, 1000, redemption_id=f"rdm_concurrent_{n}")
        inbound = Inbound(RedemptionRequested.model_validate_json(encoded.value),
                          Envelope.from_headers(encoded.headers))
        emitted = []
        async with points.unit_of_work() as uow:
            emit = uow.emit
            uow.emit = lambda event, *args, **kwargs: (
                emitted.append(type(event).__name__), emit(event, *args, **kwargs))
            await handler(uow, [inbound])
        return emitted

    results = await asyncio.gather(*(one(n) for n in range(10)))
    assert sum(r == ["PointsDebited"] for r in results) == 2
    assert await points.pool.fetchval(
        "SELECT points FROM balances WHERE member_id = $1", member) == 500


async def test_a_cancellation_refunds_to_the_original_lots_exactly_once(points):
    member = customers(1)[0]
    await produce_to(points, [
        purchase(member, "400.00", transaction_id="T-old", at=datetime(2025, 6, 1, tzinfo=UTC)),
        purchase(member, "800.00", transaction_id="T-new")])
    await eventually(consumed(points, 2), what="earned")
    await produce_to(points, [redemption(member, 1000, redemption_id="rdm_cancel_me"),
                              redemption(member, 1000, redemption_id="rdm_cancel_me")])
    await eventually(consumed(points, 4), what="debited once")
    cancel = cancellation(member, "rdm_cancel_me", 1000)
    again = cancellation(member, "rdm_cancel_me", 1000)  # re-sent under a new event id
    await produce_to(points, [cancel, cancel, again])
    await eventually(consumed(points, 7), what="cancellations handled")

    answers = await _published(points, {member}, 2,
                               {"points.debited", "points.refunded", "points.debit-rejected"})
    assert [ce_type(r) for r in answers] == ["points.debited", "points.refunded"]
    lots = await points.pool.fetch(
        "SELECT expires_on, remaining FROM lots WHERE member_id = $1 ORDER BY 1", member)
    assert [(r[0], r[1]) for r in lots] == [(date(2026, 12, 31), 400), (date(2027, 12, 31), 800)]


# ---------------------------------------------------------------------- expiry, closing

async def test_expiry_and_expiring_soon_happen_once_per_lot_and_member(points):
    a, b = customers(2)
    await produce_to(points, [
        purchase(a, "100.00", at=datetime(2024, 5, 1, tzinfo=UTC)),   # expires 2025-12-31
        purchase(a, "200.00", at=datetime(2025, 5, 1, tzinfo=UTC)),   # expires 2026-12-31
        purchase(b, "300.00", at=datetime(2024, 8, 1, tzinfo=UTC)),   # expires 2025-12-31
        purchase(b, "40.00", at=datetime(2025, 8, 1, tzinfo=UTC))])   # expires 2026-12-31
    await eventually(consumed(points, 4), what="earned")

    jobs = [ExpiryJob() for _ in range(4)]
    # December 5th 2025: the 2025 lots are announced; four instances try at once.
    reports = await asyncio.gather(*(_run(points, j, date(2025, 12, 5)) for j in jobs))
    assert sum(r.announced for r in reports) == 2 and sum(r.ran for r in reports) >= 1
    # January 1st 2026: they expire, once, whoever runs; running again changes nothing.
    reports = await asyncio.gather(*(_run(points, j, date(2026, 1, 1)) for j in jobs))
    assert sum(r.expired_lots for r in reports) == 2
    assert (await _run(points, jobs[0], date(2026, 1, 2))).expired_lots == 0
    assert (await _run(points, jobs[0], date(2025, 12, 6))).announced == 0

    events = await _published(points, {a, b}, 4, {"points.expired", "points.expiring-soon"})
    assert sorted((ce_type(r), r.key.decode(), data(r)["points"]) for r in events) == sorted([
        ("points.expiring-soon", a, 100), ("points.expiring-soon", b, 300),
        ("points.expired", a, 100), ("points.expired", b, 300)])
    ids = {(ce_type(r), r.key.decode()): dict(r.headers)["ce_id"].decode() for r in events}
    assert ids[("points.expired", a)] == event_id(  # from the business key: re-runs match
        points.source, "expired", a, date(2025, 12, 31), date(2026, 1, 1))
    assert ids[("points.expiring-soon", b)] == event_id(
        points.source, "expiring-soon", b, date(2025, 12, 31))
    balances = dict(await points.pool.fetch("SELECT member_id, points FROM balances"))
    assert balances == {a: 200, b: 40}


async def test_a_closed_member_forfeits_the_balance_once(points):
    member, other = customers(2)
    await produce_to(points, [purchase(member, "880.00"), purchase(other, "10.00")])
    await eventually(consumed(points, 2), what="earned")
    await produce_to(points, [closed(member), closed(member)])
    await eventually(consumed(points, 4), what="closed")
    # Dated after the closure (one dated before it counts however late it comes).
    after = datetime.now(SHANGHAI)
    await produce_to(points, [purchase(member, "500.00", at=after), redemption(member, 10)])
    await eventually(consumed(points, 6), what="after closing")

    events = await _published(points, {member}, 4)
    assert [ce_type(r) for r in events] == [
        "points.earned", "points.forfeited", "points.earned", "points.debit-rejected"]
    assert data(events[1])["points"] == 880
    assert data(events[2])["points"] == 0 and data(events[3])["reason"] == "member_closed"


# ---------------------------------------------------------------------- HTTP

async def test_the_app_reads_balance_and_paginated_history(points):
    member = customers(1)[0]
    now = datetime.now(SHANGHAI)
    await produce_to(points, [
        purchase(member, "100.00", at=datetime(now.year - 1, 3, 1, tzinfo=SHANGHAI)),
        *[purchase(member, "10.00", at=now) for _ in range(4)]])
    await eventually(consumed(points, 5), what="earned")
    transport = httpx.ASGITransport(app=points.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://points",
                                 auth=AsPathMember()) as client:
        balance = (await client.get(f"/v1/members/{member}/balance")).json()
        first = (await client.get(f"/v1/members/{member}/history", params={"limit": 3})).json()
        rest = (await client.get(f"/v1/members/{member}/history",
                                 params={"limit": 3, "before": first["next_cursor"]})).json()
        unknown = await client.get(f"/v1/members/{customers(1)[0]}/balance")
        malformed = await client.get("/v1/members/not-a-member/balance",
                                     headers=member_headers(member))
        spec = (await client.get("/openapi.json")).json()

    assert (balance["balance"], balance["available"]) == (140, 140)
    assert balance["expiring_next"] == {"points": 100, "on": f"{now.year}-12-31"}
    assert len(first["entries"]) == 3 and len(rest["entries"]) == 2 and rest["next_cursor"] is None
    assert sum(e["points"] for e in first["entries"] + rest["entries"]) == 140
    assert unknown.status_code == 404 and malformed.status_code == 422
    assert "/v1/members/{member_id}/history" in spec["paths"]
