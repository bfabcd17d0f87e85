"""loyalty.members.v1, loyalty.points.v1, loyalty.rewards.v1 -> message intents: tier
changes, redemptions, expiring points, goodwill awards (an apology) and the month's
offers that fit (one marketing message) become queued messages; points earned add to the
day's summary (scheduled.py queues it); an enrolment is kept for the membership
anniversary (care_days.py greets it); a closed member's contact data goes.

Nothing is sent here: the sender (sender.py) sends what is due. The inbox drops redelivered
events and a message is unique per (cause, template), so nothing is queued twice."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import asyncpg

from contracts.accounts.v1 import MemberClosed, MemberEnrolled
from contracts.points.v1 import PointsEarned
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..clock import Clock
from ..domain.messages import intent_for
from ..domain.schedule import Rules, local_day, summary_day
from ..domain.tier_changes import TierRule
from ..sql import care_days as care_days_sql
from ..sql import contacts as contacts_sql
from ..sql import summaries as summaries_sql
from .queue import Queue


class OnMemberEvents:
    """Tier changes, redemptions, expiring points, goodwill awards become messages; points
    earned add to the day's summary; a closed member's contact data goes."""

    def __init__(self, queue: Queue, rules: Rules, clock: Clock, tier_rule: TierRule) -> None:
        self.queue = queue
        self.rules = rules
        self.clock = clock
        self.tier_rule = tier_rule

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        now = self.clock.now()
        intents, closed = [], {}
        enrolled: list[tuple[str, date]] = []
        # points, purchases, and the trace context of the first purchase (the summary's)
        earned: dict[tuple[str, date], list] = defaultdict(lambda: [0, 0, None])
        for inbound in batch:
            event = inbound.event
            if isinstance(event, MemberClosed):
                closed[event.member_id] = event.closed_at
            elif isinstance(event, MemberEnrolled):
                enrolled.append((event.member_id, local_day(event.enrolled_at, self.rules)))
            elif isinstance(event, PointsEarned):
                if event.points > 0:
                    total = earned[(event.member_id, summary_day(event.earned_at, self.rules))]
                    total[0] += event.points
                    total[1] += 1
                    total[2] = total[2] or inbound.envelope.traceparent
            elif intent := intent_for(event, inbound.envelope.id, tier_rule=self.tier_rule,
                                      zone=self.rules.zone):
                intents.append(intent)
        await care_days_sql.record_enrolments(uow.conn, enrolled)
        if closed:
            await contacts_sql.erase_members(uow.conn, closed, now)
        await _add_to_summaries(uow.conn, {k: tuple(v) for k, v in earned.items()})
        await self.queue.queue(uow, intents, now,
                               {i.envelope.id: i.envelope.traceparent for i in batch})


async def _add_to_summaries(conn: asyncpg.Connection,
                            totals: dict[tuple[str, date], tuple]) -> None:
    # Points for a day whose summary already went (a late event) join the next day's.
    while totals:
        late = await summaries_sql.add_points(conn, totals)
        totals = {(m, d + timedelta(days=1)): totals[(m, d)] for m, d in late}
