"""`loyalty-ops members` on the real broker and database: a member enrolled from the
customer file is found by customer id and by mobile number (its keyed hash; typed at the
prompt), shown masked: no full mobile number, openid or given name in the output; and
`loyalty-ops reseal members` goes through them."""

from __future__ import annotations

import pytest

from contracts.topics import CUSTOMERS_V1
from services.accounts.app import build
from tests.integration.fresh import customers, fresh_service
from tests.integration.kafka_tools import eventually, produce
from tests.integration.ops_cli import ops
from tests.integration.test_accounts_members import mobile_of, onboarded, openid_of

pytestmark = pytest.mark.integration


async def test_members_are_found_by_id_and_by_mobile_and_shown_masked(infra):
    async with fresh_service(build, "accounts") as accounts:
        member, other = customers(2)
        await produce(accounts.settings.kafka_bootstrap_servers,
                      accounts.topic(CUSTOMERS_V1), [onboarded(member), onboarded(other)])

        async def enrolled() -> bool:
            return await accounts.pool.fetchval(
                "SELECT count(*) FROM members WHERE member_id = ANY ($1)", [member, other]) == 2
        await eventually(enrolled, what="members enrolled")
        here = {"accounts": accounts}
        mobile, openid = mobile_of(member), openid_of(member)
        masked = f"{mobile[3:6]}****{mobile[-4:]}"

        shown = await ops("members", "show", member, services=here)
        assert shown.code == 0, shown.err
        assert member in shown.out and masked in shown.out and "张*" in shown.out
        assert f"{openid[:4]}****{openid[-4:]}" in shown.out
        for secret in (mobile[3:], openid, "伟"):
            assert secret not in shown.out

        for typed in (mobile, mobile[3:], f"{mobile[3:6]} {mobile[6:10]} {mobile[10:]}"):
            found = await ops("members", "find", services=here, stdin=f"{typed}\n")
            assert found.code == 0, found.err
            assert member in found.out and other not in found.out and masked in found.out
            assert mobile[3:] not in found.out
        assert (await ops("members", "find", "--mobile", "+8613000000000",
                          services=here)).code == 1
        assert (await ops("members", "show", "C0000000000", services=here)).code == 1

        # After a key rotation operations re-seal; under the same key nothing changes.
        resealed = await ops("reseal", "members", services=here)
        assert resealed.code == 0, resealed.err
        assert "2 members: 0 values sealed anew" in resealed.out
