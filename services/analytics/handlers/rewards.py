"""Rewards: confirmed redemptions (kept one row each, for kinds and lounges) and salons
attended; both count in the member's month."""

from __future__ import annotations

from contracts.rewards.v1 import RedemptionConfirmed
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.activity import Tally
from ..sql import member_months, redemptions


class OnRewards:
    """Keeps confirmed redemptions and counts them and salon visits per member and month."""

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        events = [i.event for i in batch]
        await redemptions.record(
            uow.conn, [e for e in events if isinstance(e, RedemptionConfirmed)])
        await member_months.add(uow.conn, Tally().add(events))
