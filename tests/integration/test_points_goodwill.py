"""Goodwill points on the real broker and database: staff award points for a complaint
(under the threshold at once, above it only once a different staff member with the
approver role approves), limits per award, member and year hold, a complaint is awarded
once, a closed member gets none; each award is a transfer from programme:goodwill and one
points.goodwill-awarded event, which notifications turns into an apology message; the
report lists awards by reason and approver. The ledger invariants hold after each test."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from contracts.envelope import EncodedEvent
from contracts.topics import POINTS_V1
from runtime.relay import wait_until_drained
from tests.integration.fresh import customers
from tests.integration.kafka_tools import eventually, produce_to, read_topic
from tests.integration.points_events import (
    SHANGHAI,
    ce_type,
    closed,
    consumed,
    data,
    points_service,
    purchase,
)
from tests.integration.test_notifications_support import (
    contact,
    members,
    notifications_world,
    remember,
)
from tests.tokens import staff_headers

pytestmark = pytest.mark.integration
STAFF, APPROVER = "loyalty-staff", "loyalty-approver"
def maker() -> dict[str, str]:
    # an approver too: still not of their own
    # Made when used: a token made at import would outlive its lifetime in a long run.
    return staff_headers("rm-0001", STAFF, APPROVER)

def clerk() -> dict[str, str]:
    return staff_headers("rm-0002", STAFF)

def checker() -> dict[str, str]:
    return staff_headers("rm-0003", STAFF, APPROVER)

LIMITS = {"goodwill_approval_above_points": 1_000, "goodwill_max_points": 5_000,
          "goodwill_member_yearly_points": 6_000, "goodwill_yearly_points": 10_000}


@pytest.fixture
async def points(infra):
    async for service in points_service(**LIMITS):
        yield service


def _http(service) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=service.http),
                             base_url="http://points")


async def _with_ledgers(service, ids: list[str], closing: list[str] = ()) -> None:
    """Each member buys something (100 points), and `closing` ones close afterwards."""
    await produce_to(service, [purchase(m, "100.00") for m in ids])
    await eventually(consumed(service, len(ids)), what="purchases applied")
    if closing:
        await produce_to(service, [closed(m) for m in closing])
        await eventually(consumed(service, len(ids) + len(closing)), what="closures applied")


async def _balance(service, member: str) -> int:
    return await service.pool.fetchval("SELECT points FROM balances WHERE member_id = $1",
                                       member)


def _award(member: str, complaint: str, points: int, reason: str = "service_failure") -> dict:
    return {"member_id": member, "complaint_reference": complaint, "reason": reason,
            "points": points, "note": "网点排队过久"}


def _goodwill_issued() -> float:
    return REGISTRY.get_sample_value("loyalty_points_total",
                                     {"movement": "issued", "kind": "goodwill"}) or 0.0


async def _published(service, n: int, settle: float = 1.0) -> list:
    await wait_until_drained(service.pool)
    return await read_topic(
        service.settings.kafka_bootstrap_servers, service.topic(POINTS_V1),
        keep=lambda r: ce_type(r) == "points.goodwill-awarded",
        until=lambda kept: len(kept) >= n, settle=settle)


async def test_maker_checker_limits_duplicates_and_the_report(points):
    a, b, c, e, gone = customers(5)  # `gone`: never seen by the ledger
    await _with_ledgers(points, [a, b, c, e], closing=[c])
    before = {m: await _balance(points, m) for m in (a, b)}
    issued = _goodwill_issued()

    async with _http(points) as http:
        # Who: a staff token with the staff role.
        assert (await http.post("/staff/goodwill", json=_award(a, "CMP-1", 500))
                ).status_code == 401
        assert (await http.post("/staff/goodwill", json=_award(a, "CMP-1", 500),
                                headers=staff_headers("rm-0009", "admin"))).status_code == 403

        # Under the threshold: made at once, audited with the maker alone.
        made = await http.post("/staff/goodwill", json=_award(a, "CMP-1", 500), headers=maker())
        assert made.status_code == 201, made.text
        assert (made.json()["status"], made.json()["requested_by"],
                made.json()["decided_by"]) == ("awarded", "rm-0001", None)
        assert await _balance(points, a) == before[a] + 500

        # The same complaint again: refused, whoever asks and whatever the points.
        again = await http.post("/staff/goodwill", json=_award(b, "CMP-1", 200), headers=clerk())
        assert (again.status_code, again.json()["code"]) == (409, "duplicate_complaint")
        assert "awarded" in again.json()["message"]

        # Above it: only proposed; nothing moves yet.
        proposed = await http.post("/staff/goodwill", json=_award(b, "CMP-2", 3_000,
                                                                   "points_missing"),
                                   headers=maker())
        assert proposed.status_code == 202, proposed.text
        award_id = proposed.json()["award_id"]
        assert (proposed.json()["status"], proposed.json()["needs_approval"]) == (
            "pending", True)
        assert await _balance(points, b) == before[b]
        assert (await http.get("/staff/goodwill/pending", headers=clerk())).status_code == 403
        listed = await http.get("/staff/goodwill/pending", headers=checker())
        assert [x["award_id"] for x in listed.json()["awards"]] == [award_id]

        # Never by the maker, never without the approver role.
        approve = f"/staff/goodwill/{award_id}/approve"
        own = await http.post(approve, headers=maker())
        assert (own.status_code, own.json()["code"]) == (403, "own_award")
        assert (await http.post(approve, headers=clerk())).status_code == 403
        assert await _balance(points, b) == before[b]

        approved = await http.post(approve, headers=checker())
        assert approved.status_code == 200, approved.text
        assert (approved.json()["status"], approved.json()["requested_by"],
                approved.json()["decided_by"]) == ("awarded", "rm-0001", "rm-0003")
        assert await _balance(points, b) == before[b] + 3_000
        again = await http.post(approve, headers=checker())
        assert (again.status_code, again.json()["code"]) == (409, "already_decided")

        # Refusals, each clear.
        for body, status, code in (
                (_award(c, "CMP-3", 100), 409, "member_closed"),
                (_award(gone, "CMP-4", 100), 404, "unknown_member"),
                (_award(a, "CMP-5", 100, "because"), 422, "unknown_reason"),
                (_award(a, "CMP-6", 5_001), 422, "over_award_limit")):
            refused = await http.post("/staff/goodwill", json=body, headers=maker())
            assert (refused.status_code, refused.json()["code"]) == (status, code), body
        assert await _balance(points, c) == 0

        # The member's year: a waiting award holds its place; a rejected one gives it back.
        waiting = await http.post("/staff/goodwill", json=_award(a, "CMP-7", 5_000),
                                  headers=clerk())
        assert waiting.status_code == 202
        over = await http.post("/staff/goodwill", json=_award(a, "CMP-8", 600), headers=clerk())
        assert (over.status_code, over.json()["code"]) == (422, "over_member_limit")
        reject = f"/staff/goodwill/{waiting.json()['award_id']}/reject"
        assert (await http.post(reject, headers=clerk())).status_code == 403
        rejected = await http.post(reject, headers=checker())
        assert (rejected.json()["status"], rejected.json()["decided_by"]) == (
            "rejected", "rm-0003")
        assert (await http.post("/staff/goodwill", json=_award(a, "CMP-8", 600),
                                headers=clerk())).status_code == 201

        # The programme's year: 4,100 made, 5,900 more may wait or be made.
        held = await http.post("/staff/goodwill", json=_award(e, "CMP-9", 5_000),
                               headers=clerk())
        assert held.status_code == 202
        full = await http.post("/staff/goodwill", json=_award(e, "CMP-10", 901),
                               headers=clerk())
        assert (full.status_code, full.json()["code"]) == (422, "over_yearly_limit")
        assert (await http.post("/staff/goodwill", json=_award(e, "CMP-10", 900),
                                headers=clerk())).status_code == 201

        year = datetime.now(SHANGHAI).year
        report = await http.get(f"/staff/goodwill/report?year={year}", headers=clerk())
        assert report.status_code == 200, report.text
        assert report.json() == {
            "year": year, "awards": 4, "points": 5_000,
            "made": [{"reason": "points_missing", "approver": "rm-0003", "awards": 1,
                      "points": 3_000},
                     {"reason": "service_failure", "approver": None, "awards": 3,
                      "points": 2_000}],
            "pending": [{"reason": "service_failure", "approver": None, "awards": 1,
                         "points": 5_000}]}
        as_csv = await http.get(f"/staff/goodwill/report?year={year}&format=csv",
                                headers=clerk())
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert list(csv.reader(io.StringIO(as_csv.text))) == [
            ["year", "status", "reason", "approver", "awards", "points"],
            [str(year), "awarded", "points_missing", "rm-0003", "1", "3000"],
            [str(year), "awarded", "service_failure", "", "3", "2000"],
            [str(year), "pending", "service_failure", "", "1", "5000"]]
        last_year = await http.get(f"/staff/goodwill/report?year={year - 1}", headers=clerk())
        assert (last_year.json()["awards"], last_year.json()["made"]) == (0, [])

    # One transfer per award made, from the goodwill account, referenced by the complaint.
    transfers = await points.pool.fetch(
        "SELECT reference, member_id, debit_account, credit_account, points FROM transfers"
        " WHERE kind = 'goodwill' ORDER BY id")
    assert [tuple(t) for t in transfers] == [
        ("CMP-1", a, "programme:goodwill", f"member:{a}", 500),
        ("CMP-2", b, "programme:goodwill", f"member:{b}", 3_000),
        ("CMP-8", a, "programme:goodwill", f"member:{a}", 600),
        ("CMP-10", e, "programme:goodwill", f"member:{e}", 900)]

    assert _goodwill_issued() - issued == 5_000  # the metric counts what was made
    # One event per award made, none for the waiting or rejected ones.
    events = [data(r) for r in await _published(points, 4)]
    assert sorted((x["complaint_reference"], x["member_id"], x["points"], x["reason"])
                  for x in events) == sorted([
        ("CMP-1", a, 500, "service_failure"), ("CMP-2", b, 3_000, "points_missing"),
        ("CMP-8", a, 600, "service_failure"), ("CMP-10", e, 900, "service_failure")])
    by_complaint = {x["complaint_reference"]: x for x in events}
    assert by_complaint["CMP-2"]["balance_after"] == before[b] + 3_000
    assert by_complaint["CMP-2"]["expires_on"] == f"{year + 1}-12-31"

    # The audit: who asked, who decided, when; and the database refuses four eyes that are two.
    audit = await points.pool.fetch(
        "SELECT complaint_reference, status, requested_by, decided_by,"
        " decided_at IS NOT NULL AS decided FROM goodwill_awards ORDER BY id")
    assert [tuple(r) for r in audit] == [
        ("CMP-1", "awarded", "rm-0001", None, True),
        ("CMP-2", "awarded", "rm-0001", "rm-0003", True),
        ("CMP-7", "rejected", "rm-0002", "rm-0003", True),
        ("CMP-8", "awarded", "rm-0002", None, True),
        ("CMP-9", "pending", "rm-0002", None, False),
        ("CMP-10", "awarded", "rm-0002", None, True)]
    with pytest.raises(asyncpg.CheckViolationError):
        await points.pool.execute(
            "UPDATE goodwill_awards SET decided_by = requested_by WHERE status = 'rejected'")


async def test_limits_and_duplicates_hold_under_concurrent_requests(points):
    """Awards asked for at once, from several staff members: the member's yearly limit
    lets exactly six of ten through, one complaint is awarded once; an award approved after
    the member closed is refused and stays waiting."""
    a, b = customers(2)
    await _with_ledgers(points, [a, b])
    start = await _balance(points, a)
    async with _http(points) as http:
        answers = await asyncio.gather(*(
            http.post("/staff/goodwill", json=_award(a, f"CMP-C{n}", 1_000),
                      headers=staff_headers(f"rm-10{n:02d}", STAFF)) for n in range(10)))
        assert sorted(r.status_code for r in answers) == [201] * 6 + [422] * 4
        assert {r.json()["code"] for r in answers if r.status_code == 422} == {
            "over_member_limit"}
        assert await _balance(points, a) == start + 6_000

        same = await asyncio.gather(*(
            http.post("/staff/goodwill", json=_award(b, "CMP-SAME", 100 + n),
                      headers=staff_headers(f"rm-20{n:02d}", STAFF)) for n in range(5)))
        assert sorted(r.status_code for r in same) == [201] + [409] * 4

        waiting = await http.post("/staff/goodwill", json=_award(b, "CMP-LATE", 2_000),
                                  headers=clerk())
        assert waiting.status_code == 202
        await produce_to(points, [closed(b)])
        await eventually(consumed(points, 3), what="closure applied")
        approve = f"/staff/goodwill/{waiting.json()['award_id']}/approve"
        refused = await http.post(approve, headers=checker())
        assert (refused.status_code, refused.json()["code"]) == (409, "member_closed")
        listed = await http.get("/staff/goodwill/pending", headers=checker())
        assert [x["award_id"] for x in listed.json()["awards"]] == [waiting.json()["award_id"]]
    assert await _balance(points, b) == 0  # forfeited at the closure, nothing given since
    assert await points.pool.fetchval(
        "SELECT count(*) FROM transfers WHERE kind = 'goodwill'") == 7


async def test_the_member_receives_an_apology_from_notifications(points, infra, pii):
    """The event the points service published, delivered to notifications: a polite
    service message in the member's language, by name; without consent, none."""
    day = datetime.now(SHANGHAI).replace(hour=10, minute=0, second=0, microsecond=0)
    zh, en, silent = members(3, wechat=False)
    remember(pii, [zh, en, silent])
    await _with_ledgers(points, [zh.id, en.id, silent.id])
    async with _http(points) as http:
        for n, m in enumerate((zh, en, silent)):
            made = await http.post("/staff/goodwill", json=_award(m.id, f"CMP-A{n}", 800),
                                   headers=clerk())
            assert made.status_code == 201, made.text
    records = await _published(points, 3)
    async with notifications_world(infra, day) as w:
        await w.contacts([contact(zh, family="王", gender="female"),
                          contact(en, family="Smith", gender="male", language="en-US"),
                          contact(silent, service_messages=False)])
        await w.send(POINTS_V1, [EncodedEvent(r.topic, r.key, r.value, list(r.headers))
                                 for r in records + records[:1]])  # one delivered twice
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=2)
        await w.until("SELECT count(*) FROM messages", expected=3)
        rows = await w.service.pool.fetch(
            "SELECT member_id, template, category, state, reason FROM messages")
        assert sorted(tuple(r) for r in rows) == sorted([
            (zh.id, "goodwill_apology", "service", "sent", None),
            (en.id, "goodwill_apology", "service", "sent", None),
            (silent.id, "goodwill_apology", "service", "skipped", "no_consent")])
        [to_zh] = w.sent_to(zh.mobile)
        [to_en] = w.sent_to(en.mobile)
        assert w.sent_to(silent.mobile) == []
        assert to_zh["text"].startswith("【") and "王女士，对于您此前遇到的不便，我们深表歉意" \
            in to_zh["text"] and "800积分" in to_zh["text"]
        assert "Mr Smith, we are sorry for the trouble" in to_en["text"]
        assert "added 800 points" in to_en["text"]
