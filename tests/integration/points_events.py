"""Events the points service consumes, built the way their producers publish them."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts.accounts.v1 import MemberClosed, MemberTierChanged
from contracts.corebanking.v1 import CardTransactionPosted, CardTransactionRefunded, Merchant
from contracts.envelope import EncodedEvent, encode
from contracts.rewards.v1 import RedemptionCancelled, RedemptionRequested
from tests.integration.kafka_tools import eventually, produce_to

SHANGHAI = ZoneInfo("Asia/Shanghai")
TUESDAY = datetime(2026, 3, 10, 12, 0, tzinfo=SHANGHAI)
SOURCE = "urn:test:producer"


def purchase(customer: str, amount: str, mcc: str = "5411", transaction_id: str | None = None,
             at: datetime = TUESDAY, channel: str | None = None) -> EncodedEvent:
    return encode(CardTransactionPosted(
        transaction_id=transaction_id or uuid.uuid4().hex, customer_id=customer,
        card_token="tok_test_0001",
        merchant=Merchant(merchant_id="M1", name="商户", mcc=mcc, city="上海", country="CN"),
        transaction_amount=Decimal(amount), transaction_currency="CNY",
        settlement_amount=Decimal(amount), settlement_currency="CNY", posted_at=at,
        channel=channel), source=SOURCE)


def refund(customer: str, transaction_id: str, amount: str, refund_id: str | None = None,
           at: datetime = TUESDAY) -> EncodedEvent:
    return encode(CardTransactionRefunded(
        refund_id=refund_id or uuid.uuid4().hex, original_transaction_id=transaction_id,
        customer_id=customer, card_token="tok_test_0001", mcc="5411",
        refund_amount=Decimal(amount), settlement_currency="CNY", refunded_at=at),
        source=SOURCE)


def tier_changed(member: str, new_tier: str, effective: date,
                 old_tier: str = "standard", at: datetime | None = None) -> EncodedEvent:
    return encode(MemberTierChanged(
        member_id=member, old_tier=old_tier, new_tier=new_tier, reason="assets_qualified",
        effective_date=effective, changed_at=at or datetime.now(SHANGHAI)), source=SOURCE)


def closed(member: str, at: datetime | None = None) -> EncodedEvent:
    return encode(MemberClosed(member_id=member, closed_at=at or datetime.now(SHANGHAI)),
                  source=SOURCE)


def redemption(member: str, points: int, redemption_id: str | None = None,
               at: datetime | None = None) -> EncodedEvent:
    return encode(RedemptionRequested(
        member_id=member, redemption_id=redemption_id or f"rdm_{uuid.uuid4().hex[:20]}",
        partner_id="ptn_test", kind="offer", item_id="off_test", persons=1, points=points,
        requested_at=at or TUESDAY + timedelta(days=1)), source=SOURCE)


def cancellation(member: str, redemption_id: str, points: int) -> EncodedEvent:
    return encode(RedemptionCancelled(
        member_id=member, redemption_id=redemption_id, title="Tall latte",
        points_to_refund=points, cancelled_at=TUESDAY + timedelta(days=2)), source=SOURCE)


def data(record) -> dict:
    return json.loads(record.value)


def ce_type(record) -> str:
    return dict(record.headers)["ce_type"].decode()


async def points_service(*, check_after: bool = True, **settings):
    """A fresh points service whose every batch report is kept in `service.reports`; after
    the test, the ledger invariants must hold. `settings` override PointsSettings'."""
    from services.points.app import build as points_build
    from services.points.invariants import check
    from services.points.settings import PointsSettings
    from tests.integration.fresh import fresh_service

    def build(name: str, prefix: str):
        return points_build(name, prefix, PointsSettings(**settings) if settings else None)

    async with fresh_service(build, "points") as service:
        service.reports = []
        for processor in (service.card_transactions, service.members, service.redemptions):
            processor.after_commit.append(service.reports.append)
        yield service
        if not check_after:
            return
        async with service.pool.acquire() as conn:
            assert await check(conn) == {}, "ledger invariants broken"


async def balances_and_lots(service) -> dict:
    """What a member holds, comparable across two services."""
    return {
        "balances": dict(await service.pool.fetch("SELECT member_id, points FROM balances")),
        "lots": sorted(tuple(r) for r in await service.pool.fetch(
            "SELECT member_id, expires_on, remaining FROM lots WHERE remaining > 0")),
    }


async def deliver_in_orders(service, facts: dict[str, dict], orders: dict[str, list[list[str]]],
                            members: dict[str, str]) -> dict[str, dict]:
    """Each order's facts (`facts[order][name]`) step by step, every order's step n in one
    go, applied before step n + 1 is sent; then each order's member's ledger."""
    done = 0
    for step in range(max(len(steps) for steps in orders.values())):
        batch = [facts[order][name] for order, steps in orders.items()
                 if step < len(steps) for name in steps[step]]
        await produce_to(service, batch)
        done += len(batch)
        await eventually(consumed(service, done), what=f"step {step + 1} applied")
    return {order: await member_ledger(service, member) for order, member in members.items()}


async def member_ledger(service, member: str) -> dict:
    """What the member holds, what each fact moved in all (a purchase with its re-ratings,
    a refund, a debit; the forfeitures as one total, whatever fact made them), each
    purchase's rating as it stands and the monthly bonus used: ids without the member's
    suffix (`-<member>`), so two members' ledgers compare."""
    pool = service.pool
    purchase_of = dict(await pool.fetch("SELECT refund_id, transaction_id FROM refunds"
                                        " WHERE member_id = $1", member))
    net: dict[str, int] = defaultdict(int)
    for t in await pool.fetch("SELECT kind, reference, points, credit_account FROM transfers"
                              " WHERE member_id = $1", member):
        points = t["points"] if t["credit_account"] == f"member:{member}" else -t["points"]
        kind, reference = t["kind"], t["reference"].split("/rerated-")[0]
        key = ("forfeit" if kind == "forfeit"
               else f"purchase {purchase_of.get(reference, reference)}"
               if kind in ("earn", "reverse") else f"{kind} {reference}")
        net[key.replace(f"-{member}", "").replace(f"_{member}", "")] += points
    return {
        "balance": await pool.fetchval("SELECT points FROM balances WHERE member_id = $1",
                                       member),
        "lots": await pool.fetchval("SELECT coalesce(sum(remaining), 0) FROM lots"
                                    " WHERE member_id = $1", member),
        "moved": {k: v for k, v in net.items() if v},
        "ratings": sorted((r["transaction_id"].split("-")[0], r["points"], r["tier"],
                           tuple(r["rule_ids"])) for r in await pool.fetch(
            "SELECT transaction_id, points, tier, rule_ids FROM ratings WHERE member_id = $1",
            member)),
        "monthly bonus": sorted(tuple(r) for r in await pool.fetch(
            "SELECT month, bonus_points FROM monthly_bonus WHERE member_id = $1", member)),
    }


def consumed(service, n: int):
    async def check() -> bool:
        return sum(r.applied + r.duplicates + r.ignored + r.dead_lettered
                   for r in service.reports) >= n
    return check
