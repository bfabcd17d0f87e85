"""A lounge visit's event as it reaches the outbox and its answer as the API shows it, and
the settlements listener."""

import asyncio
import json
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.responses import JSONResponse

from contracts.envelope import Envelope
from contracts.rewards.v1 import RedemptionConfirmed
from runtime.unit_of_work import UnitOfWork
from services.rewards.domain.benefits import Benefits
from services.rewards.domain.partners import Partner
from services.rewards.domain.redemptions import Facts, Lounge, lounge_visit_redemption
from services.rewards.handlers.redemptions import emit_events
from services.rewards.schemas import created, render
from services.rewards.settlements import Settlements

BENEFITS = Benefits(zone=ZoneInfo("Asia/Shanghai"), code_minutes=5, points_per_person=3000,
                    visits_per_year={"standard": 0, "gold": 2, "oto_fortune": 6,
                                     "private_banking": None})
LOUNGE = Lounge(id="PEK-T3-01", name="北京首都T3 国航贵宾室 \"A\"")
PARTNER = Partner(id="ptn_a", name="A", scopes=frozenset({"lounge"}), lounges=("*",),
                  offers=(), rate_per_second=10)


def _visit(member: str, persons: int):
    return lounge_visit_redemption(
        BENEFITS, PARTNER, LOUNGE, LOUNGE.id, guests=persons - 1, allow_points=False,
        facts=Facts(code="live", member_id=member, tier="private_banking"),
        id=f"rdm_{uuid.uuid4().hex}", now=datetime.now(UTC))


@pytest.mark.parametrize("member", ["C0000000000", "C1234567890", "C9999999999"])
async def test_the_visits_event_is_the_contract_event_keyed_and_named_by_the_member(member):
    visit = _visit(member, 3)
    uow = UnitOfWork(None, service="rewards")  # emitting touches no connection
    emit_events(uow, visit)
    [out] = uow.pending
    row = {"key": out.key, "value": out.value, "header_names": [h[0] for h in out.headers],
           "header_values": [h[1] for h in out.headers]}
    value = row["value"]
    event = RedemptionConfirmed.model_validate_json(value)
    assert (event.member_id, event.redemption_id, event.partner_id, event.persons,
            event.points, event.title, event.valid_on) == (
        member, visit.id, "ptn_a", 3, 0, LOUNGE.name, visit.valid_on)
    assert value == event.model_dump_json(exclude_none=True).encode()
    envelope = Envelope.from_headers(zip(row["header_names"], row["header_values"],
                                         strict=True))
    assert (envelope.subject, envelope.type) == (member, "redemption.confirmed")
    assert row["key"] == member.encode()
    # The id as rewards has always derived it: one event of each type per redemption.
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "urn:loyalty:rewards")
    assert envelope.id == str(uuid.uuid5(namespace, f"{visit.id}:redemption.confirmed"))
    assert row["header_values"].count(member.encode()) == 1  # only ce_subject


def test_the_answer_is_the_redemption_as_the_api_shows_it():
    visit = _visit("C1234567890", 1)
    answer = created(visit)
    body = json.loads(answer.content)
    assert body["id"] == visit.id
    assert answer.location == f"/v1/redemptions/{body['id']}"
    assert (body["status"], body["kind"], body["points"], body["persons"]) == (
        "confirmed", "lounge", 0, 1)
    assert body["created_at"] == body["settled_at"] and body["created_at"].endswith("Z")
    assert date.fromisoformat(body["valid_on"]) == visit.valid_on
    assert "member" not in answer.content.decode()


def test_answers_are_rendered_as_the_http_layer_renders_json():
    body = {"code": "code_used", "message": "已使用", "n": None}
    assert render(body) == JSONResponse(body).body


class _Listening:
    def is_closed(self) -> bool:
        return False


def _settlements() -> Settlements:
    settlements = Settlements("postgresql://unused", "rewards")
    settlements._conn = _Listening()  # a live listener, as far as wait() can tell
    return settlements


async def test_a_registered_waiter_wakes_on_the_notification_without_a_first_check():
    settlements = _settlements()
    checks = []

    async def answered():
        checks.append(1)
        return "answer"

    expected = settlements.expect("rdm_1")
    waiting = asyncio.create_task(settlements.wait("rdm_1", 5, answered, expected))
    await asyncio.sleep(0.05)
    assert checks == [] and not waiting.done()  # registered before the commit: no query
    settlements._notified(None, 0, "rewards_settled", "rdm_1")
    assert await asyncio.wait_for(waiting, 1) == "answer"
    assert checks == [1] and settlements._waiting == {}


async def test_a_waiter_gives_up_after_its_time_and_leaves_nothing_registered():
    settlements = _settlements()

    async def answered():
        return None

    assert await settlements.wait("rdm_2", 0.2, answered) is None
    assert settlements._waiting == {}
    expected = settlements.expect("rdm_3")
    settlements.forget("rdm_3", expected)
    assert settlements._waiting == {}
