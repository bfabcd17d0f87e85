"""Rebuilding the analytics read models from the topics' history (rebuild.py) gives what
incremental processing gave: the seeded population applied as it arrived, then the service
stopped, rebuilt (twice: it is idempotent), started again to replay every topic from the
earliest offsets. A rebuild is refused while the service consumes."""

from __future__ import annotations

import asyncpg
import pytest

from services.analytics.app import build
from services.analytics.handlers.figures import load_figures
from services.analytics.rebuild import GroupActive, rebuild
from tests.integration.analytics_population import population
from tests.integration.fresh import customers, fresh_service
from tests.integration.kafka_tools import eventually, produce_to

pytestmark = pytest.mark.usefixtures("infra")
TABLES = {"members": "member_id", "tier_changes": "member_id, effective_date",
          "member_months": "month, member_id", "redemptions": "redemption_id"}


async def read_models(db) -> dict[str, list[tuple]]:
    return {table: [tuple(r) for r in await db.fetch(f"SELECT * FROM {table} ORDER BY {key}")]
            for table, key in TABLES.items()}


async def caught_up(service, count: int) -> None:
    async def applied() -> bool:
        return await service.pool.fetchval("SELECT count(*) FROM inbox") >= count

    await eventually(applied, timeout=60, what="every event applied")


async def test_rebuild_gives_the_incremental_read_models():
    async with fresh_service(build, "analytics") as service:
        _, events = population(customers(6))
        await produce_to(service, events)
        await caught_up(service, len(events))
        incremental = await read_models(service.pool)
        async with service.pool.acquire() as conn:
            figures = await load_figures(conn, "2026-06", 6)
        # G, S, D 6 months each, C 5 (Jan-Apr, the forfeiture in May), L 2, N 2
        assert len(incremental["member_months"]) == 27

        with pytest.raises(GroupActive):
            await rebuild(service.settings, service.name, service.topic_prefix)
        await service.stop()
        for _ in range(2):
            rewound = await rebuild(service.settings, service.name, service.topic_prefix)
        assert rewound == {service.topic(t): 6 for t in (
            "loyalty.members.v1", "corebanking.card-transactions.v1",
            "corebanking.asset-snapshots.v1", "loyalty.points.v1",
            "loyalty.notifications.v1", "loyalty.rewards.v1")}
        conn = await asyncpg.connect(service.settings.database_url)
        try:
            await conn.execute(f'SET search_path TO "{service.name}"')
            assert await read_models(conn) == dict.fromkeys(TABLES, [])
            assert await conn.fetchval("SELECT count(*) FROM inbox") == 0
        finally:
            await conn.close()

        again = build(service.name, service.topic_prefix)
        await again.start()
        try:
            await caught_up(again, len(events))
            assert await read_models(again.pool) == incremental
            async with again.pool.acquire() as conn:
                assert await load_figures(conn, "2026-06", 6) == figures
        finally:
            await again.stop()
        await service.start()  # for the fixture's stop
