"""Staff routes of accounts on the real broker and database, with a bank identity provider
made up here: identity and roles come from its OIDC token only; an override moving a
member more than one tier is proposed by one staff member and applied only when another,
with the approver role, approves it (never the proposer), audited with both."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest

from services.accounts.app import build as accounts_build
from services.accounts.settings import AccountsSettings
from tests.integration.fresh import customers, fresh_service
from tests.integration.test_accounts_tiers import SHANGHAI, _enrol
from tests.tokens import Issuer, member_headers, staff_headers

pytestmark = pytest.mark.integration
STAFF, APPROVER = "loyalty-staff", "loyalty-approver"


async def test_staff_identity_roles_and_maker_checker(infra, tmp_path):
    idp = Issuer(tmp_path, "staff", algorithm="ES256")
    maker = idp.bearer("rm-0001", roles=[STAFF, APPROVER])
    clerk = idp.bearer("rm-0002", roles=[STAFF])
    checker = idp.bearer("rm-0003", roles=[STAFF, APPROVER])
    (a,) = customers(1)

    def build(name: str, prefix: str):
        return accounts_build(name, prefix, AccountsSettings(**idp.settings()))

    async with fresh_service(build, "accounts") as accounts:
        await _enrol(accounts, infra["KAFKA_BOOTSTRAP_SERVERS"], [a])
        until = (datetime.now(SHANGHAI).date() + timedelta(days=30)).isoformat()
        url = f"/staff/members/{a}/tier-override"
        gold = {"tier": "gold", "until": until, "reason": "贵宾客户迁入"}
        private = {"tier": "private_banking", "until": until, "reason": "大额存款即将到账"}

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=accounts.http),
                                     base_url="http://accounts") as http:
            # Who: only this identity provider's token, with the staff role.
            for headers in ({}, member_headers(a), staff_headers("rm-0001", STAFF),
                            idp.bearer("rm-0001", roles=[STAFF], iss="https://other/"),
                            idp.bearer("rm-0001", roles=[STAFF], aud="another-client"),
                            idp.bearer("bad id!", roles=[STAFF]),
                            {**maker, "X-Staff-Id": "rm-9999"} | {"Authorization": "Bearer x"}):
                answer = await http.post(url, json=gold, headers=headers)
                assert answer.status_code == 401, answer.text
            for roles in ([], [APPROVER], ["admin"]):
                answer = await http.post(url, json=gold, headers=idp.bearer("rm-0001",
                                                                            roles=roles))
                assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")

            far = await http.post(url, json={**gold, "until": "9999-12-31"}, headers=maker)
            assert (far.status_code, far.json()["code"]) == (422, "invalid_request")

            # One tier up: applied at once, audited with the maker alone.
            applied = await http.post(url, json=gold, headers=maker)
            assert applied.status_code == 201, applied.text
            assert applied.json()["tier"] == "gold"

            # Two tiers up: proposed only.
            proposed = await http.post(url, json=private, headers=maker)
            assert proposed.status_code == 202, proposed.text
            change = proposed.json()
            assert (change["status"], change["proposed_by"], change["request"]["tier"]) == (
                "pending", "rm-0001", "private_banking")
            approve = f"/staff/changes/{change['change_id']}/approve"
            listed = await http.get("/staff/changes", headers=checker)
            assert [c["change_id"] for c in listed.json()["changes"]] == [change["change_id"]]
            assert (await http.get("/staff/changes", headers=clerk)).status_code == 403

            # Never by the maker, never without the approver role.
            own = await http.post(approve, headers=maker)
            assert (own.status_code, own.json()["code"]) == (403, "own_change")
            assert (await http.post(approve, headers=clerk)).status_code == 403
            tier = await accounts.pool.fetchval(
                "SELECT tier FROM member_tiers WHERE member_id = $1", a)
            assert tier == "gold"

            approved = await http.post(approve, headers=checker)
            assert approved.status_code == 200, approved.text
            assert approved.json()["outcome"]["tier"] == "private_banking"
            assert (approved.json()["change"]["status"],
                    approved.json()["change"]["decided_by"]) == ("approved", "rm-0003")
            again = await http.post(approve, headers=checker)
            assert (again.status_code, again.json()["code"]) == (409, "already_decided")

            # A rejected proposal changes nothing.
            down = await http.post(url, json={**gold, "tier": "standard"}, headers=clerk)
            assert down.status_code == 202
            reject = f"/staff/changes/{down.json()['change_id']}/reject"
            assert (await http.post(reject, headers=clerk)).status_code == 403
            rejected = await http.post(reject, headers=checker)
            assert rejected.json()["status"] == "rejected"

            for path, status in (("/staff/changes/999999999/approve", 404),
                                 ("/staff/changes/0/approve", 422),
                                 ("/staff/changes/99999999999999999999/approve", 422),
                                 ("/staff/changes/abc/approve", 422)):
                answer = await http.post(path, headers=checker)
                assert answer.status_code == status, (path, answer.text)
                assert set(answer.json()) == {"code", "message"}

        audit = await accounts.pool.fetch(
            "SELECT tier, staff_id, approved_by FROM tier_overrides WHERE member_id = $1"
            " ORDER BY id", a)
        assert [tuple(r) for r in audit] == [("gold", "rm-0001", None),
                                            ("private_banking", "rm-0001", "rm-0003")]
        changes = await accounts.pool.fetch(
            "SELECT status, proposed_by, decided_by, override_id IS NOT NULL AS linked"
            " FROM staff_changes ORDER BY id")
        assert [tuple(r) for r in changes] == [("approved", "rm-0001", "rm-0003", True),
                                              ("rejected", "rm-0002", "rm-0003", False)]
        # The database itself refuses four eyes that are two.
        with pytest.raises(asyncpg.CheckViolationError):
            await accounts.pool.execute(
                "UPDATE staff_changes SET decided_by = proposed_by WHERE status = 'rejected'")
