"""A lot that expires, is refilled the same day (a cancelled redemption's points go back to
the lots they came from) and expires again: two transfers and two points.expired events of
their own, on the real broker and database (the second used to clash with the first's
transfer reference and fail the expiry job every time it ran)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.topics import POINTS_V1
from runtime.relay import wait_until_drained
from services.points.handlers.expiry import ExpiryJob
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, produce_to, read_topic
from tests.integration.points_events import (
    SHANGHAI,
    cancellation,
    ce_type,
    consumed,
    data,
    points_service,
    purchase,
    redemption,
)

pytestmark = pytest.mark.integration
LOT = date(2025, 12, 31)


async def test_a_lot_refilled_after_expiring_expires_again_the_same_day(infra):
    (member,) = customers(1)
    async for points in points_service():
        await produce_to(points, [purchase(member, "300.00",  # lot 2025-12-31
                                           at=datetime(2024, 5, 1, tzinfo=UTC))])
        await eventually(consumed(points, 1), what="earned")
        await produce_to(points, [redemption(member, 100, redemption_id="rdm_refilled",
                                             at=datetime(2025, 12, 1, tzinfo=SHANGHAI))])
        await eventually(consumed(points, 2), what="debited")
        job = ExpiryJob()
        assert (await job.run(points.unit_of_work, date(2026, 1, 1))).expired_lots == 1

        await produce_to(points, [cancellation(member, "rdm_refilled", 100)])
        await eventually(consumed(points, 3), what="cancelled: 100 back into the 2025 lot")
        assert await points.pool.fetchval(
            "SELECT remaining FROM lots WHERE member_id = $1 AND expires_on = $2",
            member, LOT) == 100
        assert (await job.run(points.unit_of_work, date(2026, 1, 1))).expired_lots == 1
        assert (await job.run(points.unit_of_work, date(2026, 1, 1))).expired_lots == 0

        expiries = await points.pool.fetch(
            "SELECT reference, points FROM transfers WHERE kind = 'expire' ORDER BY id")
        assert [r["points"] for r in expiries] == [200, 100]
        assert expiries[1]["reference"] == expiries[0]["reference"] + "/2"
        assert await points.pool.fetchval(
            "SELECT points FROM balances WHERE member_id = $1", member) == 0

        await wait_until_drained(points.pool)
        records = await read_topic(
            points.settings.kafka_bootstrap_servers, points.topic(POINTS_V1),
            keep=lambda r: ce_type(r) == "points.expired",
            until=lambda kept: len(kept) >= 2, settle=1.0)
        assert sorted(data(r)["points"] for r in records) == [100, 200]
        assert len({dict(r.headers)["ce_id"] for r in records}) == 2
