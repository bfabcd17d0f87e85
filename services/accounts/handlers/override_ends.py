"""The timer (every OVERRIDE_CHECK_SECONDS, app.py) that ends the overrides whose last day
has passed: the asset tier applies again, announced as member.tier-changed.

The member's next asset snapshot notices it too (handlers/asset_snapshots.py), whichever
comes first: under the member's lock the second finds it announced and announces nothing.
"""

from __future__ import annotations

import logging

from ..sql import overrides as sql
from ..sql.members import lock_members
from . import TierJob
from .timelines import Retiering

log = logging.getLogger(__name__)
#: Members ended per transaction.
BATCH = 500


class EndDueOverrides(TierJob):
    async def __call__(self) -> None:
        while await self.end_due() == BATCH:
            pass  # more are waiting

    async def end_due(self, limit: int = BATCH) -> int:
        """End (at most `limit` of) the overrides whose last day has passed; returns how
        many ended."""
        now = self.clock()
        today = self.programme.day_of(now)
        async with self.unit_of_work() as uow:
            due = await sql.members_with_ended_overrides(uow.conn, today, limit)
            if not due:
                return 0
            await lock_members(uow.conn, due)
            retiering = await Retiering.load(uow, self.programme, now, due)
            for member_id in sorted(retiering.members):
                retiering.decide(member_id, None)
            ended = await retiering.save()  # none: another instance got there first
        if ended:
            log.info("%d tier overrides ended", len(ended))
        return len(ended)
