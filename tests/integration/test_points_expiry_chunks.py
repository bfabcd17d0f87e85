"""Year-end expiry of a large population on the real broker and database: bounded chunks,
each its own transaction, a crash mid-run leaves whole chunks done, the next run (here two
instances at once) carries on, and every lot expires exactly once with one event.

Prints the rate in lots expired per second (the benchmark figure)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime

import pytest

from contracts.topics import POINTS_V1
from runtime.relay import wait_until_drained
from services.points.handlers.expiry import ExpiryJob
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, read_topic
from tests.integration.points_events import ce_type, points_service

pytestmark = pytest.mark.integration

MEMBERS = 20_000
CHUNK = 1_000
DUE, LATER = date(2025, 12, 31), date(2026, 12, 31)
NEW_YEAR = date(2026, 1, 1)
NOW = datetime(2025, 12, 31, 16, 5, tzinfo=UTC)  # five past midnight in Shanghai


@pytest.fixture
async def points(infra):
    async for service in points_service():
        yield service


async def _load(service, members: list[str]) -> dict[str, tuple[int, int]]:
    """Every member holding a lot due at the new year and half of them one due a year later,
    COPY-loaded with the earning transfers that made them (the invariants hold)."""
    held = {m: (100 + n % 50, 10 * (n % 2)) for n, m in enumerate(members)}
    lots = [(m, day, p) for m, (due, later) in held.items()
            for day, p in ((DUE, due), (LATER, later)) if p]
    async with service.pool.acquire() as conn, conn.transaction():
        await conn.copy_records_to_table("accounts", columns=("id", "kind", "member_id"),
                                         records=[(f"member:{m}", "member", m) for m in members])
        await conn.copy_records_to_table("balances", columns=("member_id", "points"),
                                         records=[(m, sum(p)) for m, p in held.items()])
        await conn.copy_records_to_table("lots", columns=("member_id", "expires_on", "remaining"),
                                         records=lots)
        await conn.copy_records_to_table(
            "transfers", columns=("kind", "reference", "member_id", "debit_account",
                                  "credit_account", "points", "occurred_at"),
            records=[("earn", f"seed:{m}:{day}", m, "programme:issuance", f"member:{m}", p, NOW)
                     for m, day, p in lots])
        await conn.execute("ANALYZE lots; ANALYZE balances")
    return held


async def _expired(service) -> int:
    return await service.pool.fetchval("SELECT count(*) FROM transfers WHERE kind = 'expire'")


async def _settled(service) -> int:
    """Lots expired once the cancelled run's last COMMIT, if it had sent one, has landed:
    its connection is cut on cancellation, but the server still commits what it received."""
    count = await _expired(service)
    while True:
        await asyncio.sleep(1.0)
        if (again := await _expired(service)) == count:
            return count
        count = again


async def test_year_end_expiry_in_chunks_restarts_and_expires_each_lot_once(points, capsys):
    members = customers(MEMBERS)
    held = await _load(points, members)
    job = ExpiryJob(chunk=CHUNK)

    # A run that crashes part-way: whole chunks are done, the one in flight is not.
    started = time.perf_counter()
    run = asyncio.create_task(job.run(points.unit_of_work, NEW_YEAR, NOW))

    async def some_chunks_done() -> bool:
        return await _expired(points) >= MEMBERS // 4

    await eventually(some_chunks_done, timeout=120, what="a quarter expired")
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)
    first_seconds, done = time.perf_counter() - started, await _settled(points)
    assert 0 < done < MEMBERS and done % CHUNK == 0  # a chunk is all or nothing

    # The next run, by two instances at once, carries on with what is still due.
    started = time.perf_counter()
    reports = await asyncio.gather(job.run(points.unit_of_work, NEW_YEAR, NOW),
                                   ExpiryJob(chunk=CHUNK).run(points.unit_of_work, NEW_YEAR, NOW))
    second_seconds = time.perf_counter() - started
    assert sum(r.expired_lots for r in reports) == MEMBERS - done
    assert (await job.run(points.unit_of_work, NEW_YEAR, NOW)).expired_lots == 0

    pool = points.pool
    assert await pool.fetchval(
        "SELECT count(*) FROM (SELECT member_id FROM transfers WHERE kind = 'expire'"
        " GROUP BY member_id HAVING count(*) = 1) once") == MEMBERS
    assert await pool.fetchval(
        "SELECT count(*) FROM lots WHERE expires_on = $1 AND remaining > 0", DUE) == 0
    balances = dict(await pool.fetch("SELECT member_id, points FROM balances"))
    assert balances == {m: later for m, (_, later) in held.items()}

    await wait_until_drained(pool, timeout=120)
    events = await read_topic(points.settings.kafka_bootstrap_servers, points.topic(POINTS_V1),
                              keep=lambda r: ce_type(r) == "points.expired", timeout=120,
                              until=lambda kept: len(kept) >= MEMBERS, settle=1.0)
    assert len(events) == MEMBERS
    assert len({dict(r.headers)["ce_id"] for r in events}) == MEMBERS
    assert {r.key.decode() for r in events} == set(members)

    with capsys.disabled():
        print(f"\nyear-end expiry, {MEMBERS} members, chunks of {CHUNK} lots:"
              f" {done / first_seconds:,.0f} lots/s until the crash ({done} lots),"
              f" {(MEMBERS - done) / second_seconds:,.0f} lots/s for the rest with two"
              f" instances at once ({' + '.join(str(r.expired_lots) for r in reports)})")
