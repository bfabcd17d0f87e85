"""Expiry job benchmark on the real database: a year end over a large population.

    python -m tools.bench.expiry [--lots 1000000] [--chunk 1000] [--instances 1]
                                 [--history-transfers 0]

Loads `lots` members into a fresh points schema by COPY (tools/bench/history.py, `due`:
each member's oldest lot still open and past its day, with the purchases that filled it,
their later lots, a redemption; `--history-transfers`: purchases plus two a member, default
6 a member), then runs the expiry job (services/points/handlers/expiry.py) as on new year's day,
with `--instances` copies at once, each a unit of work per chunk of `--chunk` lots. Prints
lots expired per second, the chunks' pace (slowest and mean), the machine CPU per lot
(tools/bench/cpu.py) and whether the ledger invariants hold; a second run must find
nothing left. The outbox keeps the events (no relay runs): publishing them is the relay's
benchmark, not this one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, date, datetime

import asyncpg

from runtime import db
from runtime.unit_of_work import unit_of_work
from services.points.handlers.expiry import ExpiryJob
from services.points.invariants import check

from .cpu import CpuProbe, Split
from .history import SHANGHAI, History, load_history


async def main(lots: int, chunk: int, instances: int, transfers: int) -> None:
    database_url = os.environ["DATABASE_URL"]
    schema = f"points_expiry_{uuid.uuid4().hex[:8]}"
    new_year = date(datetime.now(SHANGHAI).year, 1, 1)
    now = datetime.combine(new_year, datetime.min.time(), SHANGHAI).astimezone(UTC)
    print(f"loading {lots:,} members, each with a lot due on {new_year}, into {schema}")
    try:
        await load_history(database_url, schema, History(
            members=lots, transfers=transfers or 6 * lots, due=True, today=new_year))
        pool = await db.create_pool(database_url, schema, max_size=instances + 1)
        try:
            await _expire(pool, database_url, chunk, instances, new_year, now)
        finally:
            await pool.close()
    finally:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()


async def _expire(pool: asyncpg.Pool, database_url: str, chunk: int, instances: int,
                  new_year: date, now: datetime) -> None:
    chunks: list[float] = []

    def units():
        return _timed(unit_of_work(pool, service="points"), chunks)

    due = await pool.fetchval(
        "SELECT count(*) FROM lots WHERE expires_on < $1 AND remaining > 0", new_year)
    probe = await CpuProbe.find(database_url, os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ":0"))
    job = ExpiryJob(chunk=chunk)
    before, started = probe.sample(), time.perf_counter()
    reports = await asyncio.gather(*(job.run(units, new_year, now) for _ in range(instances)))
    elapsed, cpu = time.perf_counter() - started, probe.sample() - before
    expired = sum(r.expired_lots for r in reports)
    print(f"expiry job, {instances} instance(s), chunks of {chunk:,} lots: {expired:,} lots"
          f" expired in {elapsed:.1f}s: {expired / elapsed:,.0f} lots/s")
    print(f"  units of work: {len(chunks):,}, mean {1e3 * sum(chunks) / len(chunks):.0f} ms,"
          f" slowest {1e3 * max(chunks):.0f} ms")
    print(f"  {Split.describe(cpu.per_event(expired)).replace('per event', 'per lot')}")
    again = await job.run(units, new_year, now)
    async with pool.acquire() as conn:
        broken = await check(conn)
        outbox = await conn.fetchval("SELECT count(*) FROM outbox")
    print(f"  a second run expired {again.expired_lots} lots; outbox rows {outbox:,};"
          f" invariants {'hold' if not broken else f'BROKEN: {sorted(broken)}'}")
    if expired != due or again.expired_lots or broken:
        raise SystemExit(f"expected the {due} lots due expired once each")


class _timed:
    """A unit of work whose duration is appended to `durations` (a chunk's, mostly)."""

    def __init__(self, inner, durations: list[float]) -> None:
        self.inner, self.durations = inner, durations

    async def __aenter__(self):
        self.started = time.perf_counter()
        return await self.inner.__aenter__()

    async def __aexit__(self, *exc):
        try:
            return await self.inner.__aexit__(*exc)
        finally:
            self.durations.append(time.perf_counter() - self.started)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=1_000_000, help="lots due (one per member)")
    parser.add_argument("--chunk", type=int, default=ExpiryJob.chunk)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--history-transfers", type=int, default=0,
                        help="purchases plus two per member (default 6 per member)")
    args = parser.parse_args()
    asyncio.run(main(args.lots, args.chunk, args.instances, args.history_transfers))
