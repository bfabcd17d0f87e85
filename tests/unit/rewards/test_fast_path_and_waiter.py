"""The pure parts of the lounge fast path (the answer and the event it prepares for the
database, the token given back when it hands a request on) and the settlement waiter."""

import asyncio
import json
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from fastapi.responses import JSONResponse

from contracts.envelope import Envelope
from contracts.rewards.v1 import RedemptionConfirmed
from services.rewards.domain.benefits import Benefits
from services.rewards.domain.partners import TokenBucket
from services.rewards.fast_path import PLACEHOLDER, _prepare
from services.rewards.redemptions import event_id, render
from services.rewards.waiter import Settlements

BENEFITS = Benefits(zone=ZoneInfo("Asia/Shanghai"), code_minutes=5, points_per_person=3000,
                    visits_per_year={"standard": 0, "gold": 2, "oto_fortune": 6,
                                     "private_banking": None})
LOUNGE = {"id": "PEK-T3-01", "name": "北京首都T3 国航贵宾室 \"A\""}


@pytest.mark.parametrize("member", ["C0000000000", "C1234567890", "C9999999999"])
def test_the_prepared_event_is_the_contract_event_once_the_member_is_spliced_in(member):
    visit = _prepare(BENEFITS, "ptn_a", LOUNGE, 3)
    subject = member.encode()
    value = visit["value_head"] + subject + visit["value_tail"]
    event = RedemptionConfirmed.model_validate_json(value)
    assert (event.member_id, event.redemption_id, event.partner_id, event.persons,
            event.points, event.title, event.valid_on) == (
        member, visit["redemption_id"], "ptn_a", 3, 0, LOUNGE["name"], visit["valid_on"])
    assert value == event.model_dump_json(exclude_none=True).encode()
    headers = [subject if v == visit["subject_placeholder"] else v
               for v in visit["header_values"]]
    envelope = Envelope.from_headers(zip(visit["header_names"], headers, strict=True))
    assert (envelope.subject, envelope.type) == (member, "redemption.confirmed")
    assert envelope.id == event_id(visit["redemption_id"], "redemption.confirmed")
    assert visit["header_values"].count(PLACEHOLDER.encode()) == 1  # only ce_subject


def test_the_prepared_answer_is_the_redemption_as_the_api_shows_it():
    visit = _prepare(BENEFITS, "ptn_a", LOUNGE, 1)
    body = json.loads(visit["body"])
    assert body["id"] == visit["redemption_id"]
    assert visit["location"] == f"/v1/redemptions/{body['id']}"
    assert (body["status"], body["kind"], body["points"], body["persons"]) == (
        "confirmed", "lounge", 0, 1)
    assert body["created_at"] == body["settled_at"] and body["created_at"].endswith("Z")
    assert date.fromisoformat(body["valid_on"]) == visit["valid_on"]
    assert "member" not in visit["body"].decode()


def test_answers_are_rendered_as_the_http_layer_renders_json():
    body = {"code": "code_used", "message": "已使用", "n": None}
    assert render(body) == JSONResponse(body).body


def test_a_token_given_back_never_lifts_the_bucket_above_its_burst():
    bucket = TokenBucket(2, stamp=100.0)
    assert bucket.take(100.0) and bucket.take(100.0) and not bucket.take(100.0)
    bucket.give_back()
    assert bucket.take(100.0) and not bucket.take(100.0)
    for _ in range(5):
        bucket.give_back()
    assert sum(bucket.take(100.0) for _ in range(5)) == 2


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
