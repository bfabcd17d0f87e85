"""The accounts service under the core-banking simulator's traffic (what `scripts/run`
feeds it): onboardings and their first snapshots at the same moment on two topics, profile
changes, new customers and month after month of snapshots. Nothing may be dead-lettered,
every tier must agree with its history, and no phone number may be stored in plaintext."""

from __future__ import annotations

import json

import pytest

from contracts.topics import ASSET_SNAPSHOTS_V1, CUSTOMERS_V1, MEMBERS_V1
from runtime.relay import wait_until_drained
from services.accounts.app import build
from simulator.live import LiveSimulation
from tests.integration.fresh import fresh_service
from tests.integration.kafka_tools import eventually, produce, read_topic
from tests.integration.test_accounts_members import ce_type, consumed, watch

pytestmark = pytest.mark.integration
CUSTOMERS, MONTHS = 300, 8


async def test_simulated_core_banking_months(infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    simulation = LiveSimulation(seed=4, n_customers=CUSTOMERS, month_seconds=60)
    now = 1_780_000_000.0
    records = simulation.start(now)
    for month in range(1, MONTHS):
        records += simulation.advance(now + 61 * month, purchases=6000)  # seed 4: closures too
    wanted = [r for r in records if r.topic in (CUSTOMERS_V1, ASSET_SNAPSHOTS_V1)]
    mobiles = {json.loads(r.value)["mobile"] for r in wanted if r.topic == CUSTOMERS_V1
               and b"mobile" in r.value}

    async with fresh_service(build, "accounts") as accounts:
        customer_reports, snapshot_reports = watch(accounts.customer_file), watch(
            accounts.asset_snapshots)
        for topic in (CUSTOMERS_V1, ASSET_SNAPSHOTS_V1):
            await produce(bootstrap, accounts.topic(topic), [r for r in wanted if r.topic == topic])
        n_customers = sum(r.topic == CUSTOMERS_V1 for r in wanted)
        await eventually(lambda: consumed(customer_reports, n_customers), timeout=60,
                         what="customer events consumed")
        await eventually(lambda: consumed(snapshot_reports, len(wanted) - n_customers),
                         timeout=60, what="snapshots consumed")
        await wait_until_drained(accounts.pool)
        assert sum(r.dead_lettered for r in customer_reports + snapshot_reports) == 0

        async with accounts.pool.acquire() as conn:
            onboarded = simulation.counts["customers_onboarded"]
            closed = simulation.counts["customers_closed"]
            assert closed >= 1
            assert await conn.fetchval("SELECT count(*) FROM members") == onboarded
            assert await conn.fetchval(
                "SELECT count(*) FROM members WHERE status = 'closed'") == closed
            # Every member's tier is what its history of changes says it is.
            disagreeing = await conn.fetch(
                "SELECT t.member_id FROM member_tiers t LEFT JOIN LATERAL ("
                "  SELECT new_tier FROM tier_history h WHERE h.member_id = t.member_id"
                "  ORDER BY id DESC LIMIT 1) last ON true"
                " WHERE t.tier <> coalesce(last.new_tier, 'standard')")
            assert disagreeing == []
            changes = await conn.fetchval("SELECT count(*) FROM tier_history")
            reasons = {r[0] for r in await conn.fetch("SELECT DISTINCT reason FROM tier_history")}
            text = "\n".join(r[0] for r in await conn.fetch("SELECT m::text FROM members m"))
        assert changes > CUSTOMERS // 4  # the simulated wealth crosses thresholds
        assert {"assets_qualified", "assets_below"} <= reasons
        assert not any(m in text or m[3:] in text for m in mobiles)

        published = await read_topic(bootstrap, accounts.topic(MEMBERS_V1),
                                     keep=lambda r: ce_type(r) == "member.tier-changed",
                                     until=lambda kept: len(kept) >= changes, settle=1.0)
        assert len(published) == changes
