"""Member events ("salons") on the real broker and database: staff schedule, change and
cancel them (audited, published); eligible members are invited once; 20 members accepting
at once a salon of 5 seats get exactly 5 seats and 15 places on the waitlist; a decline
promotes the first waiting; a check-in code works once; wrong callers are refused."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from contracts.topics import REWARDS_V1
from runtime.relay import wait_until_drained
from services.rewards.app import build
from tests.integration.fresh import customers, fresh_service
from tests.integration.kafka_tools import read_topic
from tests.tokens import member_headers, staff_headers

pytestmark = pytest.mark.integration
def host() -> dict[str, str]:
    # Made when used: a token made at import would outlive its lifetime in a long run.
    return staff_headers("evt-0001", "loyalty-staff", "loyalty-events")

SALONS = "/v1/staff/salons"


@pytest.fixture
async def rewards(infra, monkeypatch):
    monkeypatch.setenv("SALON_JOB_SECONDS", "3600")  # the tests run the jobs themselves
    async with fresh_service(build, "rewards") as service:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service.http),
                                     base_url="http://rewards", timeout=60) as client:
            service.client = client
            yield service


def new_salon(capacity: int = 5, starts_in: timedelta = timedelta(days=10), **changes) -> dict:
    now = datetime.now(UTC)
    starts = now + starts_in
    return {"id": f"sal_{uuid.uuid4().hex[:10]}", "title": "葡萄酒品鉴沙龙",
            "title_en": "Wine tasting", "category": "wealth", "city": "上海",
            "venue": "外滩18号", "starts_at": starts.isoformat(), "capacity": capacity,
            "eligible_tiers": ["private_banking"],
            "invite_from": (now - timedelta(hours=1)).isoformat(),
            "invite_until": (starts - timedelta(hours=2)).isoformat(),
            "rsvp_from": (now - timedelta(hours=1)).isoformat(),
            "rsvp_until": (starts - timedelta(hours=1)).isoformat(),
            "reason": "wealth clients' autumn salon", **changes}


async def enrolled(service, n: int, tier: str = "private_banking") -> list[str]:
    members = customers(n)
    await service.pool.executemany(
        "INSERT INTO members (member_id, tier, changed_at) VALUES ($1, $2, now())",
        [(m, tier) for m in members])
    return members


async def scheduled(service, **kwargs) -> dict:
    answer = await service.client.post(SALONS, json=new_salon(**kwargs), headers=host())
    assert answer.status_code == 201, answer.text
    return answer.json()


async def rsvp(service, member: str, salon_id: str, answer: str):
    return await service.client.post(f"/v1/app/members/{member}/salons/{salon_id}/rsvp",
                                     json={"answer": answer}, headers=member_headers(member))


async def published(service, ce_type: str, count: int, settle: float = 0.0) -> list[dict]:
    await wait_until_drained(service.pool)
    records = await read_topic(
        service.settings.kafka_bootstrap_servers, service.topic(REWARDS_V1),
        until=lambda kept: len(kept) >= count, settle=settle, timeout=30,
        keep=lambda r: dict(r.headers).get("ce_type") == ce_type.encode())
    return [json.loads(r.value) for r in records]


async def test_staff_schedule_change_and_cancel_audited_and_published(rewards):
    salon = await scheduled(rewards)
    salon_id = salon["id"]
    assert (salon["status"], salon["version"]) == ("scheduled", 1)
    changed = await rewards.client.patch(f"{SALONS}/{salon_id}", headers=host(),
                                         json={"venue": "外滩3号", "reason": "bigger room"})
    assert (changed.status_code, changed.json()["venue"]) == (200, "外滩3号"), changed.text
    cancelled = await rewards.client.post(f"{SALONS}/{salon_id}/cancel", headers=host(),
                                          json={"reason": "speaker ill"})
    assert cancelled.json()["status"] == "cancelled"
    again = await rewards.client.patch(f"{SALONS}/{salon_id}", headers=host(),
                                       json={"venue": "x"})
    assert (again.status_code, again.json()["code"]) == (409, "salon_cancelled")

    audit = (await rewards.client.get(f"{SALONS}/{salon_id}/changes", headers=host())).json()
    assert [(r["version"], r["change"], r["reason"], r["staff_id"]) for r in audit] == [
        (1, "scheduled", "wealth clients' autumn salon", "evt-0001"),
        (2, "changed", "bigger room", "evt-0001"), (3, "cancelled", "speaker ill", "evt-0001")]
    assert audit[1]["before"]["venue"] == "外滩18号" and audit[1]["after"]["venue"] == "外滩3号"

    events = await published(rewards, "salon.changed", 3)
    assert [(e["change"], e["version"], e["salon_id"]) for e in events] == [
        ("scheduled", 1, salon_id), ("changed", 2, salon_id), ("cancelled", 3, salon_id)]


async def test_eligible_members_are_invited_once(rewards):
    invited = await enrolled(rewards, 3)
    others = await enrolled(rewards, 2, tier="gold")
    salon = await scheduled(rewards)
    assert await rewards.salons.invite() == 3
    assert await rewards.salons.invite() == 0  # a re-run invites nobody again
    late = await enrolled(rewards, 1)
    assert await rewards.salons.invite() == 1  # enrolled since: invited on the next run

    events = await published(rewards, "salon.invited", 4, settle=1.0)
    assert sorted(e["member_id"] for e in events) == sorted(invited + late)
    assert {e["salon_id"] for e in events} == {salon["id"]}
    # The app: the salon is listed for the invited, not for a gold member.
    listed = await rewards.client.get(f"/v1/app/members/{invited[0]}/salons",
                                      headers=member_headers(invited[0]))
    assert [(s["id"], s["status"]) for s in listed.json()] == [(salon["id"], "invited")]
    not_listed = await rewards.client.get(f"/v1/app/members/{others[0]}/salons",
                                          headers=member_headers(others[0]))
    assert not_listed.json() == []
    refused = await rsvp(rewards, others[0], salon["id"], "accept")
    assert refused.status_code == 404


async def test_capacity_holds_under_concurrent_accepts_and_a_decline_promotes(rewards):
    members = await enrolled(rewards, 20)
    salon = await scheduled(rewards, capacity=5)
    await rewards.salons.invite()
    answers = await asyncio.gather(*(rsvp(rewards, m, salon["id"], "accept") for m in members))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    statuses = [a.json()["status"] for a in answers]
    assert (statuses.count("accepted"), statuses.count("waitlisted")) == (5, 15)
    assert await rewards.pool.fetchval("SELECT accepted FROM salons WHERE id = $1",
                                       salon["id"]) == 5

    first_waiting = await rewards.pool.fetchval(
        "SELECT member_id FROM salon_guests WHERE salon_id = $1 AND status = 'waitlisted'"
        " ORDER BY waiting_since LIMIT 1", salon["id"])
    seated = next(a.json() for a in answers if a.json()["status"] == "accepted")
    leaver = members[[a.json() for a in answers].index(seated)]
    declined = await rsvp(rewards, leaver, salon["id"], "decline")
    assert (declined.json()["status"], declined.json()["check_in_code"]) == ("declined", None)
    listed = await rewards.client.get(f"/v1/app/members/{first_waiting}/salons",
                                      headers=member_headers(first_waiting))
    [place] = listed.json()
    assert place["status"] == "accepted" and place["check_in_code"] and place["seats_left"] == 0
    events = await published(rewards, "salon.rsvp-changed", 22)
    promoted = [e for e in events if e["promoted"]]
    assert [(e["member_id"], e["status"]) for e in promoted] == [(first_waiting, "accepted")]

    # Accepting twice changes nothing; the count never passed the capacity.
    again = await rsvp(rewards, first_waiting, salon["id"], "accept")
    assert again.json() == {"salon_id": salon["id"], "status": "accepted",
                            "check_in_code": place["check_in_code"]}
    assert await rewards.pool.fetchval("SELECT accepted FROM salons WHERE id = $1",
                                       salon["id"]) == 5


async def test_check_in_code_works_once_and_attendance_is_published(rewards):
    [member] = await enrolled(rewards, 1)
    salon = await scheduled(rewards)
    code = (await rsvp(rewards, member, salon["id"], "accept")).json()["check_in_code"]
    url = f"{SALONS}/{salon['id']}/check-ins"
    first = await rewards.client.post(url, json={"code": code.lower()}, headers=host())
    assert first.json() == {"member_id": member}, first.text
    second = await rewards.client.post(url, json={"code": code}, headers=host())
    assert (second.status_code, second.json()["code"]) == (409, "code_used")
    unknown = await rewards.client.post(url, json={"code": "00000-00000"}, headers=host())
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_code")
    [attended] = await published(rewards, "salon.attended", 1, settle=1.0)
    assert (attended["member_id"], attended["category"]) == (member, "wealth")


async def test_the_reminder_goes_the_day_before_to_those_who_accepted_once(rewards):
    going, waiting = await enrolled(rewards, 2)
    salon = await scheduled(rewards, capacity=1, starts_in=timedelta(hours=20))
    await rsvp(rewards, going, salon["id"], "accept")
    await rsvp(rewards, waiting, salon["id"], "accept")
    assert await rewards.salons.remind() == 1
    assert await rewards.salons.remind() == 0
    [reminder] = await published(rewards, "salon.reminder-due", 1, settle=1.0)
    assert reminder["member_id"] == going

    await rewards.client.post(f"{SALONS}/{salon['id']}/cancel", headers=host(), json={})
    notices = [e for e in await published(rewards, "salon.rsvp-changed", 4)
               if e["status"] == "cancelled"]
    assert sorted(e["member_id"] for e in notices) == sorted([going, waiting])


async def test_wrong_callers(rewards):
    [member, other] = await enrolled(rewards, 2)
    salon = await scheduled(rewards)
    salon_id = salon["id"]
    body = new_salon()
    assert (await rewards.client.post(SALONS, json=body)).status_code == 401
    no_role = staff_headers("evt-0002", "loyalty-staff")
    assert (await rewards.client.post(SALONS, json=body, headers=no_role)).status_code == 403
    as_member = member_headers(member)
    assert (await rewards.client.post(SALONS, json=body, headers=as_member)).status_code == 401
    assert (await rewards.client.patch(f"{SALONS}/sal_nothing_here", headers=host(),
                                       json={"venue": "x"})).status_code == 404
    url = f"/v1/app/members/{member}/salons/{salon_id}/rsvp"
    assert (await rewards.client.post(url, json={"answer": "accept"})).status_code == 401
    assert (await rewards.client.post(url, json={"answer": "accept"},
                                      headers=member_headers(other))).status_code == 404
    assert (await rewards.client.post(url, json={"answer": "accept"},
                                      headers=host())).status_code == 401
    unknown = await rsvp(rewards, member, "sal_nothing_here", "accept")
    assert unknown.status_code == 404
    check_in = f"{SALONS}/{salon_id}/check-ins"
    assert (await rewards.client.post(check_in, json={"code": "x"},
                                      headers=as_member)).status_code == 401
    assert (await rewards.client.post(check_in, json={"code": "x"},
                                      headers=no_role)).status_code == 403


async def test_concurrent_declines_keep_the_count_true_and_promote_in_order(rewards):
    members = await enrolled(rewards, 12)
    salon = await scheduled(rewards, capacity=4)
    for member in members:  # one by one: seats for the first 4, then the waitlist in order
        await rsvp(rewards, member, salon["id"], "accept")
    seated, waiting = members[:4], members[4:]
    leaving = seated[:3] + waiting[:2]  # 3 seats given up while 2 of the waiting leave
    answers = await asyncio.gather(*(rsvp(rewards, m, salon["id"], "decline")
                                     for m in leaving))
    assert all(a.json()["status"] == "declined" for a in answers), [a.text for a in answers]
    rows = await rewards.pool.fetch(
        "SELECT member_id, status FROM salon_guests WHERE salon_id = $1", salon["id"])
    accepted = sorted(r["member_id"] for r in rows if r["status"] == "accepted")
    count = await rewards.pool.fetchval("SELECT accepted FROM salons WHERE id = $1",
                                        salon["id"])
    assert count == len(accepted) == 4
    # The one who stayed, then the first three still waiting, in the order they joined.
    assert accepted == sorted([seated[3], *waiting[2:5]])
