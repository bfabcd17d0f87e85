"""`loyalty-ops dead-letters` on the real broker and database: listed by topic and error
kind, shown with personal data masked, and replayed to the original topic under the original
event id (the consumer group's inbox releases it once; a second replay is refused), marked
in the ops schema."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from contracts.envelope import EncodedEvent
from contracts.topics import CARD_TRANSACTIONS_V1, dead_letter_topic
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, produce_to, read_topic
from tests.integration.ops_cli import ops
from tests.integration.points_events import consumed, points_service, purchase, refund

pytestmark = pytest.mark.integration
MOBILE = "+8613812341234"


@pytest.fixture
async def points(infra):
    """Refunds go to operations after waiting a second for their purchase."""
    async for service in points_service(refund_wait_seconds=1, expiry_check_seconds=0.3):
        yield service


def unknown_type(member: str) -> EncodedEvent:
    """A record of a type no contract names (a purchase's envelope), holding personal data."""
    envelope = purchase(member, "1.00")
    return replace(envelope, value=json.dumps({
        "customer_id": member, "mobile": MOBILE, "given_name": "伟",
        "note": f"call {MOBILE[3:]}"}).encode(), headers=[
        (k, b"corebanking.card.disputed" if k == "ce_type" else v) for k, v in envelope.headers])


async def _balance(points, member: str) -> int | None:
    return await points.pool.fetchval("SELECT points FROM balances WHERE member_id = $1",
                                      member)


async def test_dead_letters_listed_shown_masked_and_replayed_once(points):
    member = customers(1)[0]
    world = {"points": points}
    await produce_to(points, [refund(member, "T-late", "40.00", refund_id="R-late"),
                              unknown_type(member)])
    dlq = points.topic(dead_letter_topic(CARD_TRANSACTIONS_V1, points.name))
    letters = await read_topic(points.settings.kafka_bootstrap_servers, dlq,
                               until=lambda kept: len(kept) >= 2, settle=1.0)
    kinds = {dict(r.headers)["dlq_error"].decode(): r for r in letters}
    assert kinds.keys() == {"purchase_not_found", "unknown_type"}

    listed = await ops("dead-letters", "list", services=world)
    assert listed.code == 0, listed.err
    rows = [line for line in listed.out.splitlines() if dlq in line]
    assert len(rows) == 2 and all(" 1 " in row and row.rstrip(" │").endswith("0")
                                  for row in rows), listed.out
    assert "2 dead letters, 0 replayed" in listed.out

    unknown = kinds["unknown_type"]
    shown = await ops("dead-letters", "show", f"{dlq}:{unknown.partition}:{unknown.offset}",
                      services=world)
    assert shown.code == 0, shown.err
    assert "138****1234" in shown.out and "corebanking.card.disputed" in shown.out
    assert "13812341234" not in shown.out and "伟" not in shown.out
    assert "dlq_consumer_group" in shown.out

    # Operations give up on the refund; its purchase comes after all, without it.
    assert (await ops("refunds", "expire", "--ids", "R-late", services=world)).code == 0
    await produce_to(points, [purchase(member, "100.00", transaction_id="T-late")])
    await eventually(consumed(points, 3), what="purchase applied")
    assert await _balance(points, member) == 100

    # The dead letter replayed: its event id released from the inbox, the refund applied.
    replayed = await ops("dead-letters", "replay", "--error", "purchase_not_found",
                         services=world)
    assert replayed.code == 0, replayed.err
    assert "replayed 1 dead letters, 0 skipped" in replayed.out

    async def refunded() -> bool:
        return await _balance(points, member) == 60
    await eventually(refunded, what="replayed refund applied")

    again = await ops("dead-letters", "replay", "--error", "purchase_not_found", services=world)
    assert "replayed 0 dead letters, 1 skipped" in again.out
    mark = await points.pool.fetchrow(
        "SELECT event_id, original_topic, consumer_group FROM ops.dead_letter_replays"
        " WHERE dlq_topic = $1", dlq)
    late = kinds["purchase_not_found"]
    assert tuple(mark) == (dict(late.headers)["ce_id"].decode(),
                           points.topic(CARD_TRANSACTIONS_V1), points.name)
    assert "2 dead letters, 1 replayed" in (await ops("dead-letters", "list",
                                                      services=world)).out
    assert await points.pool.fetchval(
        "SELECT count(*) FROM transfers WHERE kind = 'reverse' AND reference = 'R-late'") == 1
    await points.pool.execute("DELETE FROM ops.dead_letter_replays WHERE dlq_topic = $1", dlq)
