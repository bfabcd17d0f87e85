"""Tier reviews on the real Kafka broker and PostgreSQL. Yearly cadence: the staff preview
lists who the next review moves and why (staff token required: 401, 403), two instances
running the review job at once for one review apply it once (each member.tier-changed
published once), and running it again does nothing. Monthly cadence (the default): the
preview lists the members whose grace ends if next month is like their newest.

The review dates are after any real today (2091), so the services' own job, on the real
clock, finds none due: the test runs the job with its own clock."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest

from contracts.topics import ASSET_SNAPSHOTS_V1, MEMBERS_V1
from runtime.auth import dev_token
from runtime.relay import wait_until_drained
from services.accounts.app import build as accounts_build
from services.accounts.domain.reviews import Review
from services.accounts.handlers.reviews import RunTierReviews
from services.accounts.settings import DEFAULT_TIERS_FILE, AccountsSettings, load_programme
from tests.integration.fresh import customers, fresh_service
from tests.integration.kafka_tools import eventually, produce, read_topic
from tests.integration.test_accounts_members import SHANGHAI, consumed, snapshot, watch
from tests.integration.test_accounts_tiers import _enrol, tier_changes
from tests.tokens import staff_headers

pytestmark = pytest.mark.integration
FIRST_REVIEW = date(2091, 1, 1)
RUN_DAY = datetime(2091, 1, 11, 3, 0, tzinfo=SHANGHAI)  # run_after_days = 10
URL = "/staff/tier-reviews/next"


@pytest.fixture
def yearly_tiers(tmp_path: Path) -> Path:
    shipped = DEFAULT_TIERS_FILE.read_text()
    path = tmp_path / "tiers.toml"
    path.write_text(shipped.replace(
        'cadence = "monthly"\n',
        f'cadence = "yearly"\nfirst_review = {FIRST_REVIEW}\nrun_after_days = 10\n'))
    return path


def _settings(tiers: Path) -> AccountsSettings:
    return AccountsSettings(tiers_file=tiers, tier_review_check_seconds=3600)


async def test_preview_then_the_review_runs_once_across_two_instances(infra, yearly_tiers):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    a, b, c = members = customers(3)
    low = [snapshot(b, f"2090-{m:02d}", "1000.00") for m in (*range(1, 11), 12)]
    async with fresh_service(lambda n, p: accounts_build(n, p, _settings(yearly_tiers)),
                             "accounts") as first:
        await _enrol(first, bootstrap, members)
        reports = watch(first.asset_snapshots)
        snapshots = [
            snapshot(a, "2090-12", "7000000.00"),  # would be private banking from 1 January
            *low, snapshot(b, "2090-11", "7000000.00"),  # private from December (monthly)
            snapshot(c, "2090-12", "1000.00"),     # standard: nothing to review
        ]
        await produce(bootstrap, first.topic(ASSET_SNAPSHOTS_V1), snapshots)
        await eventually(lambda: consumed(reports, len(snapshots)), what="snapshots consumed")
        await wait_until_drained(first.pool)
        before = [(b, "standard", "private_banking", "assets_qualified", "2090-12-01",
                   "2090-11")]
        assert tier_changes(await _tier_changed(bootstrap, first, 1)) == before

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first.http),
                                     base_url="http://accounts") as http:
            assert (await http.get(URL)).status_code == 401
            no_role = {"Authorization": f"Bearer {dev_token('staff', 'rm-1', roles=[])}"}
            assert (await http.get(URL, headers=no_role)).status_code == 403
            staff = staff_headers("rm-0007")
            preview = (await http.get(URL, headers=staff)).json()
            page = (await http.get(URL, headers=staff, params={"limit": 1})).json()
            rest = (await http.get(URL, headers=staff,
                                   params={"limit": 1, "after": page["next_after"]})).json()
        assert {k: preview[k] for k in ("cadence", "review_date", "kind", "runs_on",
                                        "members", "moving", "by_change", "next_after")} == {
            "cadence": "yearly", "review_date": "2091-01-01", "kind": "assessment",
            "runs_on": "2091-01-11", "members": 3, "moving": 2, "next_after": None,
            "by_change": [
                {"old_tier": "private_banking", "new_tier": "oto_fortune", "members": 1},
                {"old_tier": "standard", "new_tier": "private_banking", "members": 1}]}
        assert [(m["member_id"], m["old_tier"], m["new_tier"], m["reason"],
                 m["effective_date"], m["assets"], len(m["months"]), m["complete"])
                for m in preview["moves"]] == [
            (a, "standard", "private_banking", "assets_qualified", "2091-01-01",
             "7000000.00", 1, False),
            (b, "private_banking", "oto_fortune", "assets_below", "2091-01-01",
             "576260.27", 12, True)]
        assert ([m["member_id"] for m in page["moves"]], page["next_after"]) == ([a], a)
        assert ([m["member_id"] for m in rest["moves"]], rest["next_after"]) == ([b], None)

        second = accounts_build(first.name, first.topic_prefix, _settings(yearly_tiers))
        await second.start()  # a second instance of the same service
        try:
            programme = load_programme(yearly_tiers)
            jobs = [RunTierReviews(s.unit_of_work, programme, clock=lambda: RUN_DAY)
                    for s in (first, second)]
            review = Review(FIRST_REVIEW)
            # Batches of one member: the instances contend for the review at every step.
            ran = await asyncio.gather(*(job.run(review, batch=1) for job in jobs))
            assert True in ran
            await asyncio.gather(*(job() for job in jobs))  # every review due: this one, run
            assert await jobs[1].run(review)  # again: finished, nothing to do
        finally:
            await second.stop()
        await wait_until_drained(first.pool)

        row = await first.pool.fetchrow("SELECT * FROM tier_reviews")
        assert (row["review_date"], row["kind"], row["members_reviewed"],
                row["members_moved"], row["finished_at"] is not None) == (
            FIRST_REVIEW, "assessment", 3, 2, True)
        published = await _tier_changed(bootstrap, first, 3, settle=3.0)
        assert tier_changes(published) == sorted([
            *before,
            (a, "standard", "private_banking", "assets_qualified", "2091-01-01", "2090-12"),
            (b, "private_banking", "oto_fortune", "assets_below", "2091-01-01", "2090-12")])
        assert len({dict(r.headers)["ce_id"] for r in published}) == 3
        tiers = await first.pool.fetch("SELECT member_id, tier FROM member_tiers"
                                       " ORDER BY member_id")
        assert [tuple(t) for t in tiers] == [(a, "private_banking"), (b, "oto_fortune"),
                                            (c, "standard")]

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first.http),
                                     base_url="http://accounts") as http:
            after = (await http.get(URL, headers=staff_headers("rm-0007"))).json()
        assert (after["review_date"], after["kind"], after["moving"]) == (
            "2091-07-01", "adjustment", 0)


async def _tier_changed(bootstrap: str, service, n: int, settle: float = 0.0) -> list:
    return await read_topic(
        bootstrap, service.topic(MEMBERS_V1),
        keep=lambda r: dict(r.headers)["ce_type"] == b"member.tier-changed",
        until=lambda kept: len(kept) >= n, settle=settle)


async def test_monthly_preview_lists_the_members_whose_grace_ends_next_month(infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    a, b = members = customers(2)
    async with fresh_service(accounts_build, "accounts") as accounts:
        await _enrol(accounts, bootstrap, members)
        reports = watch(accounts.asset_snapshots)
        snapshots = [snapshot(a, "2026-01", "800000.00"), snapshot(a, "2026-02", "80000.00"),
                     snapshot(a, "2026-03", "80000.00"),  # two months below OTO Fortune
                     snapshot(b, "2026-01", "800000.00"), snapshot(b, "2026-02", "80000.00")]
        await produce(bootstrap, accounts.topic(ASSET_SNAPSHOTS_V1), snapshots)
        await eventually(lambda: consumed(reports, len(snapshots)), what="snapshots consumed")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=accounts.http),
                                     base_url="http://accounts") as http:
            preview = (await http.get(URL, headers=staff_headers("rm-0007"))).json()
    assert (preview["cadence"], preview["review_date"], preview["members"],
            preview["moving"]) == ("monthly", None, 2, 1)
    assert [(m["member_id"], m["old_tier"], m["new_tier"], m["effective_date"], m["months"],
             m["assumed_month"]) for m in preview["moves"]] == [
        (a, "oto_fortune", "gold", "2026-05-01", ["2026-02", "2026-03", "2026-04"],
         "2026-04")]
