"""The points service earning on the real Kafka broker and PostgreSQL: purchases in,
a balanced ledger and one points.earned per purchase out, duplicates absorbed."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import date

import pytest
from jsonschema import Draft202012Validator

from contracts import snapshot
from contracts.strict import closed_schema
from contracts.topics import CARD_TRANSACTIONS_V1, POINTS_V1
from runtime.relay import wait_until_drained
from services.points.invariants import check
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, produce, produce_to, read_topic
from tests.integration.points_events import consumed, points_service, purchase, tier_changed

pytestmark = pytest.mark.integration


@pytest.fixture
async def points(infra):
    async for service in points_service():
        yield service


async def test_purchases_and_their_duplicates_earn_once(points, infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    a, b, c, d = members = customers(4)
    await produce_to(points, [tier_changed(b, "gold", date(2026, 3, 1))])
    await eventually(consumed(points, 1), what="tier change applied")
    events = [
        purchase(a, "100.50"),            # 100
        purchase(a, "50.00", "5812"),     # dining x2: 100
        purchase(a, "2000.00", "6011"),   # cash: 0, still answered
        purchase(b, "468.00", "5812"),    # gold dining: floor(468 x 2.4) = 1123
        purchase(b, "10.99"),             # gold: floor(10 x 1.2) = 12
        purchase(c, "6000.00", "7011"),   # hotel x3: 18000, 12000 of it bonus
        purchase(c, "6000.00", "7011"),   # bonus cut to the month's remaining 8000: 14000
        purchase(c, "1000.00", "7011"),   # month's bonus used up: 1000
        purchase(d, "30000.00", "3000"),  # airline: 90000 cut to 50000 per transaction
    ]
    expected = {a: 200, b: 1135, c: 33000, d: 50000}

    # Duplicates inside the first delivery.
    await produce(bootstrap, points.topic(CARD_TRANSACTIONS_V1), [*events, *events[:4]])
    await eventually(consumed(points, 14), what="first delivery consumed")
    # Redelivered after they were applied, and one purchase re-sent under a new event id.
    first = json.loads(events[0].value)
    resent = purchase(a, "100.50", transaction_id=first["transaction_id"])
    await produce(bootstrap, points.topic(CARD_TRANSACTIONS_V1), [*events[4:8], resent])
    await eventually(consumed(points, 19), what="redelivery consumed")

    rows = await points.pool.fetch("SELECT member_id, points FROM balances")
    assert {r["member_id"]: r["points"] for r in rows} == expected
    assert await points.pool.fetchval(
        "SELECT bonus_points FROM monthly_bonus WHERE member_id = $1", c) == 20000
    assert await points.pool.fetchval("SELECT count(*) FROM earnings") == len(events)
    credited = len(events) - 1  # all but the cash withdrawal
    lots = await points.pool.fetch("SELECT member_id, expires_on, remaining FROM lots")
    assert {(r["member_id"], r["expires_on"], r["remaining"]) for r in lots} == {
        (m, date(2027, 12, 31), p) for m, p in expected.items()}  # one lot per expiry date
    assert await points.pool.fetchval("SELECT count(*) FROM transfers") == credited
    assert await points.pool.fetchval("SELECT count(*) FROM ledger_entries") == 2 * credited
    assert sum(r.duplicates for r in points.reports) == 8
    assert sum(r.dead_lettered for r in points.reports) == 0

    await wait_until_drained(points.pool)
    earned = await read_topic(bootstrap, points.topic(POINTS_V1),
                              keep=lambda r: r.key.decode() in members,
                              until=lambda kept: len(kept) >= len(events), settle=2.0)
    assert len(earned) == len(events)  # one per purchase, none for duplicates
    assert len({dict(r.headers)["ce_id"] for r in earned}) == len(events)
    assert {dict(r.headers)["ce_type"] for r in earned} == {b"points.earned"}
    producer_schema = Draft202012Validator(  # what we publish: nothing undeclared
        closed_schema(snapshot.revisions("points.earned")[-1][1]),
        format_checker=Draft202012Validator.FORMAT_CHECKER)
    for record in earned:
        assert not list(producer_schema.iter_errors(json.loads(record.value)))
    by_transaction = {json.loads(r.value)["transaction_id"]: json.loads(r.value) for r in earned}
    assert by_transaction.keys() == {json.loads(e.value)["transaction_id"] for e in events}
    second_hotel = by_transaction[json.loads(events[6].value)["transaction_id"]]
    assert (second_hotel["points"], second_hotel["calculation"]["caps_applied"]) == (
        14000, ["monthly-bonus-20000"])
    cash = by_transaction[json.loads(events[2].value)["transaction_id"]]
    assert (cash["points"], cash["calculation"]["rule_ids"]) == (0, ["excluded-cash-quasi-cash"])
    assert cash["expires_on"] == "2027-12-31"

    code, output = await _invariants_command(points.name, infra)
    assert code == 0, output
    assert "invariants hold" in output


@pytest.fixture
async def broken_points(infra):
    async for service in points_service(check_after=False):
        yield service


async def test_the_invariant_check_catches_an_unbalanced_ledger(broken_points, infra):
    points = broken_points
    member = customers(1)[0]
    async with points.pool.acquire() as conn, conn.transaction():
        # Credited from another member's account, and with no balance written.
        await conn.execute("INSERT INTO accounts (id, kind, member_id) VALUES ($1, 'member', $2)",
                           f"member:{member}", member)
        await conn.execute(
            "INSERT INTO transfers (kind, reference, member_id, debit_account, credit_account,"
            " points, occurred_at) VALUES ('earn', 'T-broken', $1, 'member:someone-else', $2,"
            " 5, now())", member, f"member:{member}")

    async with points.pool.acquire() as conn:
        broken = await check(conn)
    assert set(broken) == {"every transfer moves points between a member and a programme account",
                           "each member balance equals the sum of its entries",
                           "every entry names an account that exists"}
    code, output = await _invariants_command(points.name, infra)
    assert code == 1
    assert "BROKEN: each member balance equals the sum of its entries" in output

    with pytest.raises(Exception, match="append-only"):  # nor can it be repaired in place
        await points.pool.execute("DELETE FROM transfers WHERE reference = 'T-broken'")


async def _invariants_command(schema: str, infra) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.points.invariants", "--schema", schema,
        env={**os.environ, **infra}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, stdout.decode()
