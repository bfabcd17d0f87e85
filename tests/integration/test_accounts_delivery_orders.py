"""The same facts in different delivery orders give the same tiers (issue 13), on the real
Kafka broker and PostgreSQL.

Four customers with nine months of snapshots that cross thresholds up and down (one with a
missing month) are delivered five ways to one accounts service, each way to its own copy of
the customers: onboarding first and months in calendar order; newest month first; months
shuffled within the topic; every snapshot before the onboarding (across topics); and the
onboarding in the middle of them. Every way must end with the same tier history (what the
app shows), the same tier status, and announcements whose last word for each day says the
timeline's tier on every day, with each event published once; a redelivery of the months
under new ids announces nothing.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date

import httpx
import pytest

from contracts.topics import ASSET_SNAPSHOTS_V1, CUSTOMERS_V1, MEMBERS_V1
from runtime.relay import wait_until_drained
from services.accounts.app import build
from tests.integration.fresh import customers, fresh_service
from tests.integration.kafka_tools import eventually, produce, read_topic
from tests.integration.test_accounts_members import (
    ce_type,
    consumed,
    data,
    onboarded,
    snapshot,
    watch,
)
from tests.tokens import AsPathMember

pytestmark = pytest.mark.integration

MONTHS = ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04",
          "2026-05", "2026-06"]
#: Assets by month of each of the four customers (None: no snapshot that month).
ASSETS = [
    ["1000", "80000", "900000", "60000", "60000", "60000", "7000000", "1000", "1000"],
    ["7000000", "1000", "1000", "1000", "80000", "1000", "80000", "1000", "1000"],
    ["600000", "1000", None, "1000", "1000", "1000", "900000", "900000", "900000"],
    ["1000", "1000", "1000", "1000", "1000", "1000", "1000", "50000", "1000"],
]
#: Worked out by hand from the programme's rules: (old, new, reason, effective, month),
#: newest first as the app shows them; and the tier status (tier, since, asset tier).
HISTORIES = [
    [("gold", "private_banking", "assets_qualified", "2026-05-01", "2026-04"),
     ("oto_fortune", "gold", "assets_below", "2026-04-01", "2026-03"),
     ("gold", "oto_fortune", "assets_qualified", "2026-01-01", "2025-12"),
     ("standard", "gold", "assets_qualified", "2025-12-01", "2025-11")],
    [("standard", "gold", "assets_qualified", "2026-03-01", "2026-02"),
     ("private_banking", "standard", "assets_below", "2026-02-01", "2026-01"),
     ("standard", "private_banking", "assets_qualified", "2025-11-01", "2025-10")],
    [("standard", "oto_fortune", "assets_qualified", "2026-05-01", "2026-04"),
     ("oto_fortune", "standard", "assets_below", "2026-04-01", "2026-03"),
     ("standard", "oto_fortune", "assets_qualified", "2025-11-01", "2025-10")],
    [("standard", "gold", "assets_qualified", "2026-06-01", "2026-05")],
]
STATUSES = [("private_banking", "2026-05-01", "private_banking"),
            ("gold", "2026-03-01", "gold"),
            ("oto_fortune", "2026-05-01", "oto_fortune"),
            ("gold", "2026-06-01", "gold")]
ORDERS = ["calendar", "newest first", "shuffled", "snapshots before onboarding",
          "onboarding in the middle"]


def snapshots_of(members: list[str]) -> list[tuple[str, str, str]]:
    """(member, month, assets) in calendar order, member by member interleaved."""
    return [(m, month, assets[i]) for i, month in enumerate(MONTHS)
            for m, assets in zip(members, ASSETS, strict=True) if assets[i] is not None]


async def test_the_same_facts_in_any_delivery_order_give_the_same_tiers(infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    rng = random.Random(13)
    ids = customers(len(ORDERS) * len(ASSETS))
    members = {order: ids[i * len(ASSETS):(i + 1) * len(ASSETS)]
               for i, order in enumerate(ORDERS)}
    facts = {order: snapshots_of(ms) for order, ms in members.items()}
    shuffled = {order: rng.sample(facts[order], len(facts[order])) for order in ORDERS}
    middle = shuffled["onboarding in the middle"]
    half = len(middle) // 2
    # Three rounds, each consumed before the next: (onboardings, snapshots).
    rounds = [
        (members["calendar"] + members["newest first"] + members["shuffled"],
         facts["snapshots before onboarding"] + middle[:half]),
        (members["snapshots before onboarding"] + members["onboarding in the middle"], []),
        ([], facts["calendar"] + facts["newest first"][::-1] + shuffled["shuffled"]
         + middle[half:]),
    ]

    async with fresh_service(build, "accounts") as accounts:
        customer_reports = watch(accounts.customer_file)
        snapshot_reports = watch(accounts.asset_snapshots)
        done = Counter()
        for onboardings, snapshots in rounds:
            await produce(bootstrap, accounts.topic(CUSTOMERS_V1),
                          [onboarded(m) for m in onboardings])
            await produce(bootstrap, accounts.topic(ASSET_SNAPSHOTS_V1),
                          [snapshot(*s) for s in snapshots])
            done.update(customers=len(onboardings), snapshots=len(snapshots))
            await eventually(lambda: consumed(customer_reports, done["customers"]),
                             what="onboardings consumed")
            await eventually(lambda: consumed(snapshot_reports, done["snapshots"]),
                             what="snapshots consumed")
        await wait_until_drained(accounts.pool)

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=accounts.http),
                                     base_url="http://accounts", auth=AsPathMember()) as http:
            for order in ORDERS:
                for member, history, status in zip(members[order], HISTORIES, STATUSES,
                                                   strict=True):
                    shown = (await http.get(f"/members/{member}/tier/history")).json()
                    assert [(c["old_tier"], c["new_tier"], c["reason"], c["effective_date"],
                             c["assets_month"]) for c in shown["changes"]] == history, order
                    tier = (await http.get(f"/members/{member}/tier")).json()
                    assert (tier["tier"], tier["since"], tier["asset_tier"]) == status, order

        # Only the audit differs: in calendar order nothing needed correcting, out of
        # order late months corrected what had been announced.
        audit = Counter(dict(await accounts.pool.fetch(
            "SELECT member_id, count(*) FROM tier_history GROUP BY member_id")))
        assert [audit[m] for m in members["calendar"]] == [len(h) for h in HISTORIES]
        for order in ("newest first", "shuffled"):
            assert sum(audit[m] for m in members[order]) > sum(map(len, HISTORIES)), order
        announced = audit.total()
        published = await read_topic(bootstrap, accounts.topic(MEMBERS_V1),
                                     keep=lambda r: ce_type(r) == "member.tier-changed",
                                     until=lambda kept: len(kept) >= announced, settle=2.0)
        assert len(published) == announced
        assert len({dict(r.headers)["ce_id"] for r in published}) == announced  # once each
        _announced_tiers_agree(published, members)

        # The months again, under new ids: kept already, nothing new is announced.
        again = facts["shuffled"] + facts["snapshots before onboarding"]
        await produce(bootstrap, accounts.topic(ASSET_SNAPSHOTS_V1),
                      [snapshot(*s) for s in again])
        await eventually(lambda: consumed(snapshot_reports, done["snapshots"] + len(again)),
                         what="redelivered snapshots consumed")
        await wait_until_drained(accounts.pool)
        assert await accounts.pool.fetchval("SELECT count(*) FROM tier_history") == announced


def _announced_tiers_agree(published, members: dict[str, list[str]]) -> None:
    """What a consumer keeping tiers by effective date (the last word per day, as points
    does) ends with gives each day the timeline's tier."""
    views: dict[str, dict[date, str]] = defaultdict(dict)
    for record in published:  # one partition per member: in the order announced
        d = data(record)
        views[d["member_id"]][date.fromisoformat(d["effective_date"])] = d["new_tier"]
    last_words: dict[str, str] = {}
    for record in published:
        last_words[data(record)["member_id"]] = data(record)["new_tier"]
    for order, ms in members.items():
        for member, history, status in zip(ms, HISTORIES, STATUSES, strict=True):
            timeline = sorted((date.fromisoformat(h[3]), h[1]) for h in history)
            view = views[member]
            for day in view.keys() | {d for d, _ in timeline}:
                said = view[max(d for d in view if d <= day)]
                true = [t for d, t in timeline if d <= day][-1:] or ["standard"]
                assert said == true[0], (order, member, day)
            assert last_words[member] == status[0], order  # the current tier, last


async def test_a_day_corrected_back_and_forth_is_announced_each_time(infra):
    """1 March goes gold (February), OTO Fortune (January: February is in grace), private
    banking (November), and gold again (December completes February's run below): each
    announcement gets an id of its own, so none is taken for a redelivery downstream."""
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    (a,) = customers(1)
    async with fresh_service(build, "accounts") as accounts:
        customer_reports = watch(accounts.customer_file)
        await produce(bootstrap, accounts.topic(CUSTOMERS_V1), [onboarded(a)])
        await eventually(lambda: consumed(customer_reports, 1), what="onboarding consumed")
        await produce(bootstrap, accounts.topic(ASSET_SNAPSHOTS_V1), [
            snapshot(a, "2026-02", "80000.00"), snapshot(a, "2026-01", "900000.00"),
            snapshot(a, "2025-11", "7000000.00"), snapshot(a, "2025-12", "80000.00")])
        published = await read_topic(bootstrap, accounts.topic(MEMBERS_V1),
                                     keep=lambda r: ce_type(r) == "member.tier-changed",
                                     until=lambda kept: len(kept) >= 7, settle=2.0)
        assert [(d["old_tier"], d["new_tier"], d["effective_date"]) for r in published
                for d in [data(r)]] == [
            ("standard", "gold", "2026-03-01"),
            ("standard", "oto_fortune", "2026-02-01"),
            ("gold", "oto_fortune", "2026-03-01"),
            ("standard", "private_banking", "2025-12-01"),
            ("oto_fortune", "private_banking", "2026-02-01"),
            ("oto_fortune", "private_banking", "2026-03-01"),
            ("private_banking", "gold", "2026-03-01")]
        assert len({dict(r.headers)["ce_id"] for r in published}) == 7
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=accounts.http),
                                     base_url="http://accounts", auth=AsPathMember()) as http:
            shown = (await http.get(f"/members/{a}/tier/history")).json()["changes"]
        assert [(c["new_tier"], c["reason"], c["effective_date"]) for c in shown] == [
            ("gold", "assets_below", "2026-03-01"),
            ("private_banking", "assets_qualified", "2025-12-01")]
