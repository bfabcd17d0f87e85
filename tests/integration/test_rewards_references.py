"""Redemption references are unique on the real database: the reference is the id's body and
the id the table's key, so a save that draws an id already taken writes nothing and the
request decides again with a fresh one (it is not refused, nor answered 500)."""

from __future__ import annotations

import pytest

from services.rewards.domain import references
from services.rewards.handlers import redemptions as handler
from tests.integration.fresh import customers
from tests.integration.ops_world import rewards_world

pytestmark = pytest.mark.integration
FREE_OFFER = "off_coffee_02_2"   # a discount: no points, confirmed at once


async def test_a_drawn_id_already_taken_is_drawn_again(infra, monkeypatch):
    async with rewards_world() as rewards:
        member = customers(1)[0]
        await rewards.pool.execute("INSERT INTO members (member_id, tier, changed_at)"
                                   " VALUES ($1, 'standard', now())", member)

        async def redeem():
            code, _ = await rewards.redemptions.issue_code(member)
            answer = await rewards.partner.redeem_offer(code, FREE_OFFER)
            assert answer.status_code == 201, answer.text
            return answer.json()["id"]

        first = await redeem()
        fresh = references.new_redemption_id()
        draws = iter([first, first, fresh])
        monkeypatch.setattr(handler, "new_redemption_id", lambda: next(draws))
        second = await redeem()
        assert second == fresh != first
        assert next(draws, None) is None  # drew twice the taken id, then a fresh one
        rows = await rewards.pool.fetch("SELECT id FROM redemptions WHERE member_id = $1",
                                        member)
        assert sorted(r["id"] for r in rows) == sorted([first, second])
        assert references.reference(first) != references.reference(second)
