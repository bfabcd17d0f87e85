"""The points benchmarks' machinery at a tiny size, on the real broker and database: the
history loader (consistent, indexes as the migrations define them), the CPU split from
/proc, the expiry benchmark and the accrual benchmark with a history and with its profile."""

from __future__ import annotations

import os
import uuid

import asyncpg
import pytest

from runtime import db
from services.points.app import PACKAGE_DIR
from services.points.invariants import check
from tests.integration.kafka_tools import eventually
from tools.bench import expiry as expiry_bench
from tools.bench import points as points_bench
from tools.bench.cpu import KINDS, CpuProbe
from tools.bench.history import TABLES, History, load_history

pytestmark = pytest.mark.integration


async def _indexes(conn: asyncpg.Connection, schema: str) -> set[str]:
    rows = await conn.fetch("SELECT indexdef FROM pg_indexes WHERE schemaname = $1"
                            " AND tablename = ANY($2::text[])", schema, list(TABLES))
    return {row[0].replace(f"{schema}.", "") for row in rows}


async def test_a_loaded_history_adds_up_and_keeps_the_migrations_indexes(infra):
    url = os.environ["DATABASE_URL"]
    loaded, plain = (f"bench_test_{uuid.uuid4().hex[:8]}" for _ in range(2))
    member = "C0000000042"
    counts = await load_history(url, loaded, History(members=300, transfers=3_000,
                                                     include=frozenset({member})), log=str)
    pool = await db.create_pool(url, plain, max_size=1)
    await db.migrate(pool, plain, db.migration_files(PACKAGE_DIR))
    await pool.close()
    conn = await asyncpg.connect(url, server_settings={"search_path": loaded})
    try:
        assert counts["accounts"] == counts["balances"] == 300
        assert counts["transfers"] == 3_000
        assert await conn.fetchval("SELECT count(*) FROM transfers") == 3_000
        assert await conn.fetchval("SELECT points > 0 FROM balances WHERE member_id = $1",
                                   member)
        assert await check(conn) == {}
        assert await _indexes(conn, loaded) == await _indexes(conn, plain)
    finally:
        await conn.execute(f'DROP SCHEMA "{loaded}" CASCADE; DROP SCHEMA "{plain}" CASCADE')
        await conn.close()


async def test_the_cpu_split_counts_the_database_work(infra):
    probe = await CpuProbe.find(os.environ["DATABASE_URL"], os.environ["KAFKA_BOOTSTRAP_SERVERS"])
    assert probe.broker is not None
    before = probe.sample()
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:  # a backend that works, then ends: its CPU is in the postmaster's reaped children
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        await conn.fetchval("SELECT count(*) FROM generate_series(1, 3000000)")
    finally:
        await conn.close()
    # Sampled once the postmaster has reaped it (a sample taken while it is being reaped
    # may miss it: the benchmarks' windows are bounded by long-lived connections).
    await eventually(lambda: _gone(backend), timeout=10, what="the backend reaped")
    split = (probe.sample() - before).ticks
    assert split["postgres"] > 0
    assert all(split[kind] >= 0 for kind in KINDS if kind != "other")
    # /proc/stat counts the machine's time tick by tick, a process's times come from the
    # scheduler's exact runtime: they agree to a tick or two, not exactly (CI saw 20 vs 21).
    assert split["machine"] >= split["postgres"] - max(2, split["postgres"] // 10)


async def _gone(pid: int) -> bool:
    return not os.path.exists(f"/proc/{pid}")  # noqa: ASYNC240 (procfs: no disk)


async def test_the_expiry_benchmark_expires_every_lot_once(infra, capsys):
    await expiry_bench.main(lots=400, chunk=50, instances=2, transfers=0)
    assert "lots/s" in capsys.readouterr().out


async def test_the_accrual_benchmark_runs_empty_and_with_history(infra, capsys):
    await points_bench.main(count=300, customers=40, seed=3, processes=1,
                            history=History(members=500, transfers=4_000))
    out = capsys.readouterr().out
    assert "ratio with history / empty database" in out
    assert out.count("invariants': 'hold'") == 2
    assert out.count("µs machine CPU per event") == 3


async def test_the_accrual_benchmark_profiles_the_service_processes(infra, capsys):
    await points_bench.main(count=300, customers=40, seed=4, processes=1, history=None,
                            profile=5)
    out = capsys.readouterr().out
    assert "service processes' profile, empty database:" in out
    assert "top 5 by tottime:" in out and "top 5 by cumulative:" in out
    assert "process(es)" in out and "µs per event" in out
    assert "invariants': 'hold'" in out
