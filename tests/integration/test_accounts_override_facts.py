"""Staff overrides as facts of the tier timeline, on the real Kafka broker and PostgreSQL:
replaced and withdrawn the day they were set, they leave the timeline as the assets say,
each step announced; a late month under an override in force announces nothing, one
before it corrects those days and restates the override's tier."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from contracts.topics import ASSET_SNAPSHOTS_V1, MEMBERS_V1
from runtime.relay import wait_until_drained
from services.accounts.app import build as accounts_build
from services.accounts.settings import AccountsSettings
from tests.integration.fresh import customers, fresh_service
from tests.integration.kafka_tools import eventually, produce, read_topic
from tests.integration.test_accounts_members import (
    SHANGHAI,
    ce_type,
    consumed,
    data,
    snapshot,
    watch,
)
from tests.integration.test_accounts_tiers import _enrol
from tests.tokens import AsPathMember, staff_headers

pytestmark = pytest.mark.integration
def staff() -> dict[str, str]:
    # Made when used: a token made at import would outlive its lifetime in a long run.
    return staff_headers("rm-0007")



def _staff_build(name: str, prefix: str):
    # Every override here is applied at once (no second approver: test_staff_auth.py).
    return accounts_build(name, prefix,
                          AccountsSettings(tier_override_approval_above_steps=3))


def changes(published) -> list[tuple]:
    return [(d["old_tier"], d["new_tier"], d["reason"], d["effective_date"])
            for r in published for d in [data(r)]]


async def test_overrides_replaced_and_withdrawn_the_same_day(infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    a, b = customers(2)
    async with fresh_service(_staff_build, "accounts") as accounts:
        await _enrol(accounts, bootstrap, [a, b])
        reports = watch(accounts.asset_snapshots)
        await produce(bootstrap, accounts.topic(ASSET_SNAPSHOTS_V1), [
            snapshot(a, "2026-01", "80000.00"), snapshot(b, "2026-01", "80000.00")])
        await eventually(lambda: consumed(reports, 2), what="snapshots consumed")
        today = datetime.now(SHANGHAI).date()
        until = (today + timedelta(days=30)).isoformat()
        url = f"/staff/members/{a}/tier-override"
        month_start = today.replace(day=1)

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=accounts.http),
                                     base_url="http://accounts", auth=AsPathMember()) as http:
            first = await http.post(url, headers=staff(), json={
                "tier": "private_banking", "until": until, "reason": "大额存款即将到账"})
            assert first.status_code == 201, first.text
            second = await http.post(url, headers=staff(), json={
                "tier": "oto_fortune", "until": until, "reason": "改为沃德财富"})
            assert (second.json()["tier"], second.json()["changed"]) == ("oto_fortune", True)
            withdrawn = await http.delete(url, headers=staff())
            assert withdrawn.status_code == 200, withdrawn.text
            assert (withdrawn.json()["tier"], withdrawn.json()["override"]) == ("gold", None)
            assert (await http.delete(url, headers=staff())).status_code == 404
            history = (await http.get(f"/members/{a}/tier/history")).json()["changes"]
            assert [(c["new_tier"], c["reason"], c["effective_date"]) for c in history] == [
                ("gold", "assets_qualified", "2026-02-01")]

            # b: an override in force, then two late months.
            set_b = await http.post(f"/staff/members/{b}/tier-override", headers=staff(),
                                    json={"tier": "oto_fortune", "until": until,
                                          "reason": "客户经理审批"})
            assert set_b.status_code == 201
            await produce(bootstrap, accounts.topic(ASSET_SNAPSHOTS_V1), [
                snapshot(b, (month_start - timedelta(days=1)).strftime("%Y-%m"),
                         "7000000.00"),  # last month's: private banking from the 1st
                snapshot(b, today.strftime("%Y-%m"), "7000000.00")])  # from next month
            await eventually(lambda: consumed(reports, 4), what="late snapshots consumed")
            status = (await http.get(f"/members/{b}/tier")).json()
            assert (status["tier"], status["asset_tier"]) == ("oto_fortune", "private_banking")
        await wait_until_drained(accounts.pool)

        published = await read_topic(bootstrap, accounts.topic(MEMBERS_V1),
                                     keep=lambda r: ce_type(r) == "member.tier-changed",
                                     until=lambda kept: len(kept) >= 8 - 2 * (month_start == today),
                                     settle=2.0)
        day = today.isoformat()
        assert changes(r for r in published if r.key.decode() == a) == [
            ("standard", "gold", "assets_qualified", "2026-02-01"),
            ("gold", "private_banking", "manual_override", day),
            ("private_banking", "oto_fortune", "manual_override", day),
            ("oto_fortune", "gold", "override_ended", day)]
        # b: last month's assets made a private banking member from the 1st until the
        # override began (none of it on the 1st itself); this month's take effect next
        # month, under the override: nothing.
        corrected = [("gold", "private_banking", "assets_qualified", month_start.isoformat()),
                     ("oto_fortune", "oto_fortune", "manual_override", day)]
        assert changes(r for r in published if r.key.decode() == b) == [
            ("standard", "gold", "assets_qualified", "2026-02-01"),
            ("gold", "oto_fortune", "manual_override", day),
            *(corrected if month_start < today else [])]
        audit = await accounts.pool.fetch(
            "SELECT end_reason, starts_on, ended_on FROM tier_overrides WHERE member_id = $1"
            " ORDER BY id", a)
        assert [tuple(r) for r in audit] == [("replaced", today, today),
                                             ("withdrawn", today, today)]
