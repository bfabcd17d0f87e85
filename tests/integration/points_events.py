"""Events the points service consumes, built the way their producers publish them."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts.accounts.v1 import MemberClosed, MemberTierChanged
from contracts.corebanking.v1 import CardTransactionPosted, CardTransactionRefunded, Merchant
from contracts.envelope import EncodedEvent, encode
from contracts.rewards.v1 import RedemptionCancelled, RedemptionRequested

SHANGHAI = ZoneInfo("Asia/Shanghai")
TUESDAY = datetime(2026, 3, 10, 12, 0, tzinfo=SHANGHAI)
SOURCE = "urn:test:producer"


def purchase(customer: str, amount: str, mcc: str = "5411", transaction_id: str | None = None,
             at: datetime = TUESDAY) -> EncodedEvent:
    return encode(CardTransactionPosted(
        transaction_id=transaction_id or uuid.uuid4().hex, customer_id=customer,
        card_token="tok_test_0001",
        merchant=Merchant(merchant_id="M1", name="商户", mcc=mcc, city="上海", country="CN"),
        transaction_amount=Decimal(amount), transaction_currency="CNY",
        settlement_amount=Decimal(amount), settlement_currency="CNY", posted_at=at),
        source=SOURCE)


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


def closed(member: str) -> EncodedEvent:
    return encode(MemberClosed(member_id=member, closed_at=datetime.now(SHANGHAI)),
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


def consumed(service, n: int):
    async def check() -> bool:
        return sum(r.applied + r.duplicates + r.ignored + r.dead_lettered
                   for r in service.reports) >= n
    return check
