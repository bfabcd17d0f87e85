"""Re-rating on the real broker and database: the same purchases, refunds and tier changes
(late ones, a correction and its undo, a repeated announcement) delivered in five orders
across the two topics give the same ledgers, lots and ratings, those of in-order delivery,
and the events published add up to the balances."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, datetime

import pytest

from contracts.accounts.v1 import MemberTierChanged
from contracts.corebanking.v1 import CardTransactionPosted
from contracts.envelope import Envelope
from contracts.topics import POINTS_V1
from runtime.consumer import Inbound
from runtime.relay import wait_until_drained
from services.points.handlers.campaigns import CurrentRules
from services.points.handlers.card_transactions import OnCardTransactions
from services.points.handlers.members import OnMemberEvents
from services.points.settings import PointsSettings, load_rules
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, produce_to, read_topic
from tests.integration.points_events import (
    SHANGHAI,
    balances_and_lots,
    ce_type,
    consumed,
    data,
    points_service,
    purchase,
    refund,
    tier_changed,
)

pytestmark = pytest.mark.integration


def _on(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=SHANGHAI)


def _facts(m: list[str]) -> tuple[list, list, dict[str, int]]:
    """Card transactions (in the order core banking posts them), tier changes (in the order
    accounts publishes them) and the balances in-order delivery gives."""
    cards = [
        # Three hotels (x3) and groceries; gold from March 15th, private banking from April.
        purchase(m[0], "3000.00", "7011", "T0a", _on(3, 10)),  # standard: 9000
        purchase(m[0], "3000.00", "7011", "T0b", _on(3, 20)),  # gold x3.6: 10800
        # Gold's x1.2 (3600) is outside the monthly bonus cap (programme.toml
        # monthly_bonus_counts_tier = false): its 7200 bonus is cut to 6800: 10400.
        purchase(m[0], "3000.00", "7011", "T0c", _on(3, 25)),
        purchase(m[0], "1000.00", "5411", "T0d", _on(4, 5)),   # private x2: 2000
        # Oto fortune from February announced by mistake and undone; gold from the 15th.
        purchase(m[1], "500.00", "5812", "T1a", _on(2, 10)),   # standard dining: 1000
        purchase(m[1], "800.00", "5411", "T1b", _on(2, 20)),   # gold: 960
        # Private banking announced by mistake and undone; half the purchase refunded.
        purchase(m[2], "1000.00", "5411", "T2a", _on(3, 5)),   # standard: 1000
        refund(m[2], "T2a", "500.00", "R2a", _on(3, 6)),       # takes back 500
        # Gold announced twice (accounts repeats its last change).
        purchase(m[3], "100.00", "5411", "T3a", _on(3, 10)),   # gold: 120
        # No tier change.
        purchase(m[4], "100.00", "5411", "T4a", _on(3, 10)),   # 100
    ]
    tiers = [
        tier_changed(m[0], "gold", date(2026, 3, 15)),
        tier_changed(m[0], "private_banking", date(2026, 4, 1), old_tier="gold"),
        tier_changed(m[1], "oto_fortune", date(2026, 2, 1)),
        tier_changed(m[1], "standard", date(2026, 2, 1), old_tier="oto_fortune"),
        tier_changed(m[1], "gold", date(2026, 2, 15)),
        tier_changed(m[2], "private_banking", date(2026, 1, 1)),
        tier_changed(m[2], "standard", date(2026, 1, 1), old_tier="private_banking"),
        tier_changed(m[3], "gold", date(2026, 3, 1)),
        tier_changed(m[3], "gold", date(2026, 3, 1), old_tier="gold"),
    ]
    return cards, tiers, {m[0]: 32200, m[1]: 1960, m[2]: 500, m[3]: 120, m[4]: 100}


async def _deliver(service, steps: list[list]) -> None:
    """Each step's events, one step after the other has been consumed."""
    total = 0
    for step in steps:
        await produce_to(service, step)
        total += len(step)
        await eventually(consumed(service, total), what=f"{total} events consumed")


async def _all_at_once(service, cards: list, tiers: list) -> None:
    await asyncio.gather(produce_to(service, cards), produce_to(service, tiers))
    await eventually(consumed(service, len(cards) + len(tiers)), what="all consumed")


async def _end_state(service) -> dict:
    pool = service.pool
    return {
        **await balances_and_lots(service),
        "ratings": {r[0]: tuple(r[1:]) for r in await pool.fetch(
            "SELECT transaction_id, points, bonus_points, tier FROM ratings")},
        "monthly bonus": sorted(tuple(r) for r in await pool.fetch(
            "SELECT member_id, month, bonus_points FROM monthly_bonus")),
    }


async def _published_sums(service, members: list[str]) -> Counter:
    """Points earned less points reversed, plus what re-ratings moved, per member, from
    the events published."""
    await wait_until_drained(service.pool)
    events = await read_topic(service.settings.kafka_bootstrap_servers,
                              service.topic(POINTS_V1), keep=lambda r: r.key.decode() in members,
                              until=lambda kept: len(kept) >= 10, settle=1.5)
    assert len({dict(r.headers)["ce_id"] for r in events}) == len(events)
    sums: Counter = Counter()
    for record in events:
        kind, payload = ce_type(record), data(record)
        moved = (payload["points_moved"] if kind == "points.rerated" else
                 {"points.earned": 1, "points.reversed": -1}[kind] * payload["points"])
        sums[record.key.decode()] += moved
    return sums


async def test_the_same_facts_in_five_delivery_orders_give_the_in_order_ledger(infra):
    members = customers(5)
    cards, tiers, expected = _facts(members)
    orders = {
        "tier changes first": lambda s: _deliver(s, [tiers, cards]),
        "purchases first": lambda s: _deliver(s, [cards, tiers]),
        "interleaved": lambda s: _deliver(s, [tiers[:3], cards[:5], tiers[3:6], cards[5:],
                                              tiers[6:]]),
        "tier changes late, one at a time": lambda s: _deliver(s, [cards, *([t] for t in tiers)]),
        "all at once": lambda s: _all_at_once(s, cards, tiers),
    }
    states, reratings = {}, {}
    for name, deliver in orders.items():
        async for points in points_service():
            await deliver(points)
            states[name] = await _end_state(points)
            assert await _published_sums(points, members) == expected, name
            reratings[name] = await points.pool.fetchval("SELECT count(*) FROM reratings")

    assert states["tier changes first"]["balances"] == expected
    for name, state in states.items():
        assert state == states["tier changes first"], f"{name} differs from in-order delivery"
    assert reratings["tier changes first"] == 0
    # Each correction and its undo re-rated apart: up and back down again.
    assert reratings["tier changes late, one at a time"] > reratings["purchases first"] > 0


@pytest.fixture
async def points(infra):
    async for service in points_service():
        yield service


def _inbound(encoded, model) -> Inbound:
    return Inbound(model.model_validate_json(encoded.value), Envelope.from_headers(encoded.headers))


async def test_a_tier_change_racing_a_members_first_purchase_waits_for_it(points):
    """The first purchase opens the member's ledger in a transaction the tier change cannot
    see yet: it waits for that transaction, then re-rates the purchase."""
    member = customers(1)[0]
    rules = CurrentRules(load_rules(PointsSettings().programme_file))
    bought = _inbound(purchase(member, "100.00", transaction_id="T-race"), CardTransactionPosted)
    upgrade = _inbound(tier_changed(member, "gold", date(2026, 3, 1)), MemberTierChanged)

    async def change_tier() -> None:
        async with points.unit_of_work() as uow:
            await OnMemberEvents(rules)(uow, [upgrade])

    async with points.unit_of_work() as uow:
        await OnCardTransactions(rules)(uow, [bought])  # earned at standard, not committed
        changing = asyncio.create_task(change_tier())
        await asyncio.sleep(1.0)
        assert not changing.done()
    await changing
    assert await points.pool.fetchval(
        "SELECT points FROM balances WHERE member_id = $1", member) == 120
    assert await points.pool.fetchval(
        "SELECT tier FROM ratings WHERE transaction_id = 'T-race'") == "gold"
