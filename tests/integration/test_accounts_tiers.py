"""Tier status by assets on the real Kafka broker and PostgreSQL: snapshots crossing
thresholds produce exactly the expected member.tier-changed events (duplicates none, a late
month its correction with true effective dates), the points service applies the new
multiplier to later purchases, and the staff override is authenticated, audited and ends."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx
import pytest

from contracts.topics import (
    ASSET_SNAPSHOTS_V1,
    CARD_TRANSACTIONS_V1,
    CUSTOMERS_V1,
    MEMBERS_V1,
    POINTS_V1,
)
from runtime.relay import wait_until_drained
from services.accounts.app import build as accounts_build
from services.accounts.settings import AccountsSettings
from services.points.app import build as points_build
from tests.integration.fresh import customers, fresh_service, fresh_world
from tests.integration.kafka_tools import eventually, produce, read_topic
from tests.integration.points_events import purchase
from tests.integration.test_accounts_members import (
    SHANGHAI,
    ce_type,
    consumed,
    data,
    onboarded,
    snapshot,
    watch,
)
from tests.tokens import AsPathMember, staff_headers

pytestmark = pytest.mark.integration


def tier_changes(records) -> list[tuple]:
    return sorted((r.key.decode(), d["old_tier"], d["new_tier"], d["reason"],
                   d["effective_date"], d.get("assets_month"))
                  for r in records if ce_type(r) == "member.tier-changed"
                  for d in [data(r)])


async def _enrol(service, bootstrap: str, members: list[str]) -> None:
    await produce(bootstrap, service.topic(CUSTOMERS_V1), [onboarded(m) for m in members])

    async def enrolled() -> bool:
        return await service.pool.fetchval("SELECT count(*) FROM member_tiers") == len(members)
    await eventually(enrolled, what="members enrolled")


async def test_snapshots_crossing_thresholds_change_tiers_and_points_multipliers(infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    a, b = members = customers(2)
    async with fresh_world({"accounts": accounts_build, "points": points_build}) as world:
        accounts, points = world["accounts"], world["points"]
        points_tiers = watch(points.members)
        await _enrol(accounts, bootstrap, members)
        reports = watch(accounts.asset_snapshots)
        snapshots = [
            snapshot(a, "2026-01", "80000.00"),     # gold from February
            snapshot(b, "2026-01", "7000000.00"),   # private banking from February
            snapshot(a, "2026-01", "80000.00"),     # re-sent under a new id: nothing
            snapshot(b, "2026-02", "1000.00"),      # below private: grace 1
            snapshot(b, "2026-03", "1000.00"),      # grace 2
            snapshot(a, "2025-12", "7000000.00"),   # older than seen: private from January
            snapshot(a, "2026-02", "60000.00"),     # below private: grace 2
            snapshot(b, "2026-04", "1000.00"),      # third month below: standard from May
        ]
        await produce(bootstrap, accounts.topic(ASSET_SNAPSHOTS_V1), snapshots)
        await eventually(lambda: consumed(reports, len(snapshots)), what="snapshots consumed")
        await wait_until_drained(accounts.pool)

        expected = sorted([
            (a, "standard", "gold", "assets_qualified", "2026-02-01", "2026-01"),
            # Event time (issue 13): December's late snapshot made a private banking member
            # from January; February's gold never happened and is undone on its day.
            (a, "standard", "private_banking", "assets_qualified", "2026-01-01", "2025-12"),
            (a, "gold", "private_banking", "assets_qualified", "2026-02-01", "2025-12"),
            (b, "standard", "private_banking", "assets_qualified", "2026-02-01", "2026-01"),
            (b, "private_banking", "standard", "assets_below", "2026-05-01", "2026-04"),
        ])
        published = await read_topic(
            bootstrap, accounts.topic(MEMBERS_V1),
            keep=lambda r: ce_type(r) == "member.tier-changed",
            until=lambda kept: len(kept) >= len(expected), settle=2.0)
        assert tier_changes(published) == expected  # exactly these, nothing more
        history = await accounts.pool.fetch(
            "SELECT member_id, old_tier, new_tier, reason, effective_date, assets_month"
            " FROM tier_history")
        assert sorted((h[0], h[1], h[2], h[3], h[4].isoformat(), h[5]) for h in history) \
            == expected

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=accounts.http),
                                     base_url="http://accounts", auth=AsPathMember()) as http:
            status = (await http.get(f"/members/{a}/tier")).json()
            assert (status["tier"], status["since"]) == ("private_banking", "2026-01-01")
            assert status["benefits"] == {"lounge_visits_per_year": None,
                                          "lounge_visits_unlimited": True,
                                          "points_multiplier": "2.0"}
            assert status["latest_assets"] == {"month": "2026-02",
                                               "average_daily_assets": "60000.00"}
            assert status["next_tier"] is None
            assert status["grace"] == {"months_below": 2, "downgrade_after_months": 3}
            a_history = (await http.get(f"/members/{a}/tier/history")).json()["changes"]
            assert [(c["new_tier"], c["reason"], c["effective_date"], c["assets_month"])
                    for c in a_history] == [
                ("private_banking", "assets_qualified", "2026-01-01", "2025-12")]
            b_history = (await http.get(f"/members/{b}/tier/history")).json()["changes"]
            assert [(c["new_tier"], c["reason"]) for c in b_history] == [
                ("standard", "assets_below"), ("private_banking", "assets_qualified")]

        # Points: each purchase at the multiplier of the tier effective on its date.
        await eventually(lambda: applied(points_tiers, len(expected)),
                         what="points took the tiers")
        at = lambda y, m, d: datetime(y, m, d, 12, tzinfo=SHANGHAI)  # noqa: E731
        purchases = {
            "a-january": purchase(a, "100.00", at=at(2026, 1, 20)),   # private banking
            "a-february": purchase(a, "100.00", at=at(2026, 2, 10)),  # private banking
            "b-march": purchase(b, "100.00", at=at(2026, 3, 10)),     # private banking
            "b-may": purchase(b, "100.00", at=at(2026, 5, 10)),       # standard again
        }
        await produce(bootstrap, points.topic(CARD_TRANSACTIONS_V1), purchases.values())
        earned = await read_topic(bootstrap, points.topic(POINTS_V1),
                                  keep=lambda r: ce_type(r) == "points.earned",
                                  until=lambda kept: len(kept) >= len(purchases))
        by_transaction = {data(r)["transaction_id"]: data(r)["calculation"] for r in earned}
        got = {name: (by_transaction[data_of(event)["transaction_id"]]["tier"],
                      by_transaction[data_of(event)["transaction_id"]]["multiplier"])
               for name, event in purchases.items()}
        assert got == {"a-january": ("private_banking", "2.0"),
                       "a-february": ("private_banking", "2.0"),
                       "b-march": ("private_banking", "2.0"), "b-may": ("standard", "1.0")}


def data_of(encoded) -> dict:
    return json.loads(encoded.value)


async def applied(reports: list, n: int) -> bool:
    return sum(r.applied for r in reports) >= n


async def test_snapshots_that_arrive_before_the_enrolment_decide_it(infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    (a,) = customers(1)
    async with fresh_service(accounts_build, "accounts") as accounts:
        reports = watch(accounts.asset_snapshots)
        await produce(bootstrap, accounts.topic(ASSET_SNAPSHOTS_V1), [
            snapshot(a, "2026-01", "900000.00"), snapshot(a, "2026-02", "70000.00")])
        await eventually(lambda: consumed(reports, 2), what="snapshots kept")
        await _enrol(accounts, bootstrap, [a])
        await wait_until_drained(accounts.pool)
        published = await read_topic(bootstrap, accounts.topic(MEMBERS_V1),
                                     until=lambda kept: len(kept) >= 2, settle=1.0)
        assert [ce_type(r) for r in published] == ["member.enrolled", "member.tier-changed"]
        # Event time (issue 13): from every month, not the newest alone: January's assets
        # made an OTO Fortune member from February, February's are its first month of grace.
        assert tier_changes(published) == [
            (a, "standard", "oto_fortune", "assets_qualified", "2026-02-01", "2026-01")]


def _staff_build(name: str, prefix: str):
    # Applied at once (no second approver: test_staff_auth.py).
    return accounts_build(name, prefix,
                          AccountsSettings(tier_override_approval_above_steps=3))


async def test_staff_override_is_authenticated_audited_and_ends(infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    (a,) = customers(1)
    async with fresh_service(_staff_build, "accounts") as accounts:
        await _enrol(accounts, bootstrap, [a])
        reports = watch(accounts.asset_snapshots)
        await produce(bootstrap, accounts.topic(ASSET_SNAPSHOTS_V1),
                      [snapshot(a, "2026-01", "80000.00")])
        await eventually(lambda: consumed(reports, 1), what="snapshot consumed")
        today = datetime.now(SHANGHAI).date()
        until = today + timedelta(days=30)
        staff = staff_headers("rm-0042")
        body = {"tier": "private_banking", "until": until.isoformat(),
                "reason": "关系经理审批: 大额存款即将到账"}
        url = f"/staff/members/{a}/tier-override"

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=accounts.http),
                                     base_url="http://accounts", auth=AsPathMember()) as http:
            assert (await http.post(url, json=body)).status_code == 401
            assert (await http.post(url, json=body, headers={
                **staff, "Authorization": "Bearer wrong"})).status_code == 401
            # Identity and roles come from the token (no self-declared header): without the
            # staff role, 403.
            assert (await http.post(url, json=body, headers=staff_headers(
                "rm-0042", "loyalty-approver"))).status_code == 403
            past = {**body, "until": (today - timedelta(days=1)).isoformat()}
            assert (await http.post(url, json=past, headers=staff)).status_code == 422
            assert (await http.post("/staff/members/C0000000000/tier-override", json=body,
                                    headers=staff)).status_code == 404

            set_ = await http.post(url, json=body, headers=staff)
            assert set_.status_code == 201, set_.text
            assert set_.json()["tier"] == "private_banking"
            assert set_.json()["asset_tier"] == "gold"
            status = (await http.get(f"/members/{a}/tier")).json()
            assert status["override"] == {"tier": "private_banking", "until": until.isoformat(),
                                          "reason": body["reason"], "staff_id": "rm-0042"}
            assert status["benefits"]["lounge_visits_unlimited"] is True

            lookup = await http.post("/staff/members/lookup", headers=staff,
                                     json={"mobile": f"+86139{a[-8:]}"})
            assert lookup.json() == {"member_ids": [a]}

        # The override's last day passes: the periodic check hands the tier back to assets.
        accounts.override_ends.clock = lambda: datetime.now(SHANGHAI) + timedelta(days=31)
        assert await accounts.override_ends.end_due() == 1
        assert await accounts.override_ends.end_due() == 0  # once only
        await wait_until_drained(accounts.pool)

        published = await read_topic(bootstrap, accounts.topic(MEMBERS_V1),
                                     keep=lambda r: ce_type(r) == "member.tier-changed",
                                     until=lambda kept: len(kept) >= 3, settle=1.0)
        assert [(data(r)["new_tier"], data(r)["reason"], data(r)["effective_date"])
                for r in published] == [
            ("gold", "assets_qualified", "2026-02-01"),
            ("private_banking", "manual_override", today.isoformat()),
            ("gold", "override_ended", (until + timedelta(days=1)).isoformat())]
        audit = await accounts.pool.fetchrow("SELECT * FROM tier_overrides WHERE member_id = $1", a)
        assert (audit["staff_id"], audit["reason"], audit["until"], audit["end_reason"]) == (
            "rm-0042", body["reason"], until, "expired")
        assert await accounts.pool.fetchval(
            "SELECT override_id FROM member_tiers WHERE member_id = $1", a) is None
