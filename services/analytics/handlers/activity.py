"""Card transactions, asset snapshots, points movements and notifications: what each adds
to its member's month (domain/activity.py), written in one statement per batch."""

from __future__ import annotations

from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.activity import Tally
from ..sql import member_months


class OnActivity:
    """Adds the batch's events to the members' months (member_months)."""

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        await member_months.add(uow.conn, Tally().add(i.event for i in batch))
