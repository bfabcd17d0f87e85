"""A closure committed while a batch waits for the member's ledger lock: the batch must see
the ledger closed (it used to see it open, and credit a closed member, which the chaos
suite found)."""

import asyncio

import asyncpg
import pytest

from services.points.sql import ledger
from tests.integration.fresh import customers
from tests.integration.points_events import points_service

pytestmark = pytest.mark.integration


async def test_a_closure_committed_while_waiting_for_the_lock_is_seen(infra):
    member = customers(1)[0]
    async for service in points_service(check_after=False):
        url = service.settings.database_url
        closing = await asyncpg.connect(url, server_settings={"search_path": service.schema})
        loading = await asyncpg.connect(url, server_settings={"search_path": service.schema})
        try:
            async with service.pool.acquire() as conn, conn.transaction():
                await ledger.load(conn, [member])  # opens the member's ledger
            close = closing.transaction()
            await close.start()
            await closing.execute("SELECT 1 FROM balances WHERE member_id = $1 FOR UPDATE",
                                  member)
            await closing.execute("INSERT INTO closed_members (member_id, closed_at)"
                                  " VALUES ($1, now())", member)
            async with loading.transaction():
                waiting = asyncio.create_task(ledger.load(loading, [member]))
                await asyncio.sleep(0.5)
                assert not waiting.done()  # it waits for the closure's lock
                await close.commit()
                assert (await waiting)[member].closed
        finally:
            await closing.close()
            await loading.close()
