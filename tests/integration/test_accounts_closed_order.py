"""A closed member's tiers do not depend on whether their last asset months arrive before
or after the closure (the fault suite found `latest_month` did), nor on the closure coming
in the same batch as the enrolment; on the real broker and database. A month arriving after
the closure counts as if it had come before it: the tier change it makes is announced, and
what was announced last is the member's tier."""

from __future__ import annotations

from datetime import datetime

import pytest

from contracts.topics import ASSET_SNAPSHOTS_V1, CUSTOMERS_V1, MEMBERS_V1
from runtime.relay import wait_until_drained
from services.accounts.app import build
from tests.integration.fresh import customers, fresh_service
from tests.integration.kafka_tools import eventually, produce, read_topic
from tests.integration.test_accounts_members import (
    SHANGHAI,
    ce_type,
    closed,
    consumed,
    data,
    onboarded,
    snapshot,
    watch,
)

pytestmark = pytest.mark.integration

MONTHS = [("2026-07", "1000.00"), ("2026-08", "1000.00"), ("2026-09", "80000.00"),
          ("2026-10", "80000.00")]  # gold from 2026-10-01 (September's assets)
CLOSED_AT = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
#: Rounds, each consumed before the next: (customer events, snapshot months by index).
ORDERS = {
    "in order": [(["enrol"], [0, 1, 2, 3]), (["close"], [])],
    "last months after the closure": [(["enrol"], [0, 1]), (["close"], []), ([], [2, 3])],
    "closed with its enrolment, months after": [(["enrol", "close"], []), ([], [0, 1, 2, 3])],
}


async def test_a_closed_members_tier_status_is_the_same_in_any_order(infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    members = dict(zip(ORDERS, customers(len(ORDERS)), strict=True))
    async with fresh_service(build, "accounts") as accounts:
        customer_reports, snapshot_reports = (watch(accounts.customer_file),
                                               watch(accounts.asset_snapshots))
        done = {"customers": 0, "snapshots": 0}
        for step in range(max(map(len, ORDERS.values()))):
            events, months = [], []
            for order, rounds in ORDERS.items():
                if step < len(rounds):
                    member = members[order]
                    events += [onboarded(member) if e == "enrol" else closed(member, CLOSED_AT)
                               for e in rounds[step][0]]
                    months += [snapshot(member, *MONTHS[i]) for i in rounds[step][1]]
            await produce(bootstrap, accounts.topic(CUSTOMERS_V1), events)
            await produce(bootstrap, accounts.topic(ASSET_SNAPSHOTS_V1), months)
            done["customers"] += len(events)
            done["snapshots"] += len(months)
            await eventually(lambda: consumed(customer_reports, done["customers"]),
                             what="customer events consumed")
            await eventually(lambda: consumed(snapshot_reports, done["snapshots"]),
                             what="snapshots consumed")

        rows = {order: await accounts.pool.fetchrow(
                    "SELECT tier, effective_date, asset_tier, asset_tier_month, latest_month"
                    " FROM member_tiers WHERE member_id = $1", member)
                for order, member in members.items()}
        timelines = {order: [tuple(r) for r in await accounts.pool.fetch(
                         "SELECT effective_date, old_tier, new_tier FROM tier_timeline"
                         " WHERE member_id = $1 ORDER BY effective_date", member)]
                     for order, member in members.items()}
        in_order = rows["in order"]
        assert in_order is not None
        assert (in_order["tier"], in_order["latest_month"]) == ("gold", "2026-10")
        for order in ORDERS:
            assert rows[order] is not None and dict(rows[order]) == dict(in_order), order
            assert timelines[order] == timelines["in order"], order

        await wait_until_drained(accounts.pool)
        published = await read_topic(
            bootstrap, accounts.topic(MEMBERS_V1),
            keep=lambda r: ce_type(r) == "member.tier-changed",
            until=lambda kept: len({data(r)["member_id"] for r in kept}) >= len(ORDERS),
            settle=1.0)
        last_said = {data(r)["member_id"]: data(r)["new_tier"] for r in published}
        assert last_said == dict.fromkeys(members.values(), "gold")
